"""The optimizer: one driver and its passes (candidates, bounds, search, Pareto merges, CP-SAT)."""
