"""The plan: the decision space of a checked spec and the typed plan one set of decisions makes."""
