"""aalp: an optimizing compiler from task specs to LLM-agent topologies."""
