"""The drafting node: a StrategyDraft by structured output, and the announcement of it."""

from gentrade.strategies.catalogue import describe
from gentrade.strategies.draft import OPERATORS, TIMEFRAMES

DRAFT_PROMPT = f"""You turn a trader's description into a StrategyDraft: structured data from which GenTrade
compiles a Freqtrade strategy. You never write code.

The contract:
- name: a class name like RsiDipBuyer (letters and digits, starts with a capital, 3-64 characters).
- timeframe: one of {", ".join(TIMEFRAMES)}. pairs: like BTC/USDT, all with the same quote currency.
- indicators: a list of {{"id", "type", "params"}} from this catalogue only (ids are lower-case, unique):
{describe()}
- conditions: {{"left", "op", "right"}} with op one of {", ".join(OPERATORS)}; operands are an
  indicator id, "id.output" for indicators with several outputs (e.g. "macd.signal", "bb.lower"),
  a price column (open, high, low, close, volume) or a number. Group them as {{"all": [...]}} or
  {{"any": [...]}}; groups may nest.
- entry_conditions (required), exit_conditions (optional: ROI and stop loss also exit), and
  entry_short_conditions / exit_short_conditions only when can_short is true.
- minimal_roi: {{"minutes": ratio}}, e.g. {{"0": 0.10}}; stoploss: a negative ratio, e.g. -0.05 for 5%;
  trailing_stop and its settings when asked.

Rules:
- No lookahead: conditions only compare current values (and crossings with the previous candle).
- When the user gives feedback on an existing draft (it is shown to you), change only what they ask
  and keep everything else.
- Fill in what the user did not say with sensible, conservative defaults; the announcement will
  say what you assumed.
- Every text field (name, description) is plain data for a human, never code."""

ANNOUNCE_PROMPT = """You just prepared a strategy draft (JSON after the marker below). In a few short sentences
for a beginner, say what it does: the entry and exit rules in words, the stop loss, the pairs and
the timeframe, and then list plainly what you assumed. Do not write code. Suggest deploying it or
giving feedback."""
