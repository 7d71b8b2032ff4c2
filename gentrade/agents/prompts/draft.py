"""The drafting node: a StrategyDraft by structured output, and the announcement of it.

The examples of the broader draft language are data (``LANGUAGE_EXAMPLES``) rendered into the prompt, so a
test can validate each one against ``StrategyDraft`` and the prompt never teaches a rule the draft refuses.
"""

import json
from typing import Any

from gentrade.strategies.catalogue import describe
from gentrade.strategies.draft import MAX_STARTUP_CANDLES
from gentrade.strategies.draft_types import OPERATORS
from gentrade.timeframes import TIMEFRAMES

# What a trader says, the indicators it needs, and the condition it becomes (on a 1h strategy).
LANGUAGE_EXAMPLES: list[tuple[str, list[dict[str, Any]], dict[str, Any]]] = [
    (
        "volume above 3x its 20-candle average",
        [{"id": "vol_avg", "type": "volume_sma", "params": {"period": 20}}],
        {"left": "volume", "op": ">", "right": {"ref": "vol_avg", "times": 3}},
    ),
    (
        "close 2% above the EMA 50",
        [{"id": "ema50", "type": "ema", "params": {"period": 50}}],
        {"left": "close", "op": ">", "right": {"ref": "ema50", "times": 1.02}},
    ),
    (
        "the 4h EMA 50 is rising (falling: op <)",
        [{"id": "ema50_4h", "type": "ema", "params": {"period": 50}, "timeframe": "4h"}],
        {"left": "ema50_4h", "op": ">", "right": {"ref": "ema50_4h", "ago": 1}},
    ),
    (
        "a Donchian breakout (the band includes the current candle: compare with the band one candle ago)",
        [{"id": "dc", "type": "donchian", "params": {"period": 20}}],
        {"left": "close", "op": ">", "right": {"ref": "dc.upper", "ago": 1}},
    ),
    (
        "the Supertrend flips up (down: crosses_below)",
        [{"id": "st", "type": "supertrend", "params": {"period": 10, "multiplier": 3}}],
        {"left": "st.direction", "op": "crosses_above", "right": 0},
    ),
]


def _examples() -> str:
    return "\n".join(
        f"  - {said}: indicators {json.dumps(indicators)}, condition {json.dumps(condition)}"
        for said, indicators, condition in LANGUAGE_EXAMPLES
    )


DRAFT_PROMPT = f"""You turn a trader's description into a StrategyDraft: structured data from which GenTrade
compiles a Freqtrade strategy. You never write code.

The contract:
- name: a class name like RsiDipBuyer (letters and digits, starts with a capital, 3-64 characters).
- timeframe: one of {", ".join(TIMEFRAMES)}. pairs: like BTC/USDT, all with the same quote currency.
- indicators: a list of {{"id", "type", "params"}} from this catalogue only (ids are lower-case, unique):
{describe()}
  A level outside an output's range (e.g. RSI below -80, Williams %R above 0) is refused.
- An indicator may add "timeframe": a timeframe higher than the strategy's ("the 4h EMA 50" on a 1h
  strategy); its values change once per candle of that timeframe. History counts in the strategy's
  candles and the draft is refused above {MAX_STARTUP_CANDLES} (a daily EMA 200 on 1h needs about 600 days,
  14400 candles): then say so and offer a shorter period, a lower indicator timeframe or a higher strategy
  timeframe; never change it silently.
- conditions: {{"left", "op", "right"}} with op one of {", ".join(OPERATORS)}; operands are an
  indicator id, "id.output" for indicators with several outputs (e.g. "macd.signal", "bb.lower"),
  a price column (open, high, low, close, volume), a number, or a Series object
  {{"ref": <id, id.output or price column>, "times": 1, "plus": 0, "ago": 0}} (leave defaults out):
  times * (the value ago candles back) + plus, where ago counts candles of the series' own timeframe.
  Group them as {{"all": [...]}} or {{"any": [...]}}; groups may nest. Examples:
{_examples()}
- entry_conditions (required), exit_conditions (optional: ROI and stop loss also exit), and
  entry_short_conditions / exit_short_conditions only when can_short is true.
- minimal_roi: {{"minutes": ratio}}, e.g. {{"0": 0.10}}; stoploss: a negative ratio, e.g. -0.05 for 5%;
  trailing_stop and its settings when asked.

Rules:
- No lookahead: conditions compare current and past values (ago), never future ones.
- When the user gives feedback on an existing draft (it is shown to you), change only what they ask
  and keep everything else.
- When a change recommended after the draft's backtest is given, apply exactly that change to the
  existing draft and keep everything else.
- Fill in what the user did not say with sensible, conservative defaults; the announcement will
  say what you assumed.
- Never stand in a different indicator for one the catalogue lacks (e.g. ZigZag, Heikin Ashi, Elliott
  waves, Fibonacci levels): draft only what the catalogue expresses and say plainly in the description
  what was left out.
- Every text field (name, description) is plain data for a human, never code."""

ANNOUNCE_PROMPT = """You just prepared a strategy draft (given below). In a few short sentences
for a beginner, say what it does: the entry and exit rules in words, the stop loss, the pairs and
the timeframe, and then list plainly what you assumed. Do not write code. Suggest deploying it or
giving feedback."""
