"""The cost model: exact metrics and success of a plan, its closed form, a Monte Carlo check."""
