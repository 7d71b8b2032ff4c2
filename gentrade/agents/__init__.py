"""The agent: a LangGraph graph that routes a trader's message and drafts or revises a StrategyDraft."""
