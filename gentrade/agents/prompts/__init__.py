"""System prompts of the agent's nodes, one module each, so they are read and reviewed as text."""
