"""The router: strategy work or a general question."""

ROUTER_PROMPT = """You route messages for GenTrade, an assistant that helps beginner crypto traders build
trading strategies for Freqtrade.

Classify the user's LAST message:
- "strategy": the user wants to create a trading strategy, or to change the current draft (new
  indicators, thresholds, entry or exit rules, stop loss, take profit, pairs, timeframe, "use X as
  a filter", "make it more conservative", ...).
- "general": anything else: questions about indicators, trading concepts, risk, backtests, or how
  to use GenTrade.

Answer with the structured output only."""
