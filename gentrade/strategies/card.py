"""The draft card: a ``StrategyDraft`` in the plain words the frontend shows and lets a trader edit (DESIGN.md §11).

Why: the trader reads and edits the card, while the structured draft stays the source of truth. Every
wording of a draft for a human (this card, the agent's announcement, a generated description) comes from
the functions here, and :mod:`gentrade.strategies.card_text` and :mod:`gentrade.strategies.card_rules`
read the same words back, so a card round-trips. This module renders and compares only: it never
parses a card and never calls a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gentrade.strategies.catalogue import CATALOGUE, PRICE_COLUMNS
from gentrade.strategies.draft import StrategyDraft

CARD_FIELDS = (
    "name",
    "description",
    "indicators",
    "entry_signals",
    "exit_signals",
    "minimal_roi",
    "stoploss",
    "timeframe",
    "can_short",
)
EXTRA_FIELDS = ("pairs",)  # also on the card; the frontend ignores keys it does not know
EDITABLE_FIELDS = (*CARD_FIELDS, *EXTRA_FIELDS)
CASE_SENSITIVE_FIELDS = ("name", "description")  # a class name and free text: a change of case is an edit
NO_EXIT_TEXT = "None: exits by ROI and stop-loss only"
NO_ROI_TEXT = "None: no ROI exit"
NO_INDICATORS_TEXT = "None"
NO_RULE = "none"  # one side of a long/short signal field with no rule

LABELS = {
    "rsi": "RSI",
    "ema": "EMA",
    "sma": "SMA",
    "wma": "WMA",
    "macd": "MACD",
    "bbands": "Bollinger Bands",
    "stoch": "Stochastic",
    "adx": "ADX",
    "atr": "ATR",
    "cci": "CCI",
    "mfi": "MFI",
    "obv": "OBV",
    "vwap": "VWAP",
    "ichimoku": "Ichimoku",
    "supertrend": "Supertrend",
    "sar": "Parabolic SAR",
    "willr": "Williams %R",
    "donchian": "Donchian",
    "keltner": "Keltner",
    "roc": "ROC",
    "mom": "Momentum",
    "volume_sma": "Volume SMA",
    "stochrsi": "Stoch RSI",
    "cmo": "CMO",
    "aroon": "Aroon",
    "dmi": "DMI",
    "dema": "DEMA",
    "tema": "TEMA",
    "hma": "HMA",
    "natr": "NATR",
}
# The name inside an output's words: "the upper Bollinger band", "+DI".
OWNER_NAMES = {"bbands": "Bollinger", "dmi": "DI"}
# The words around an indicator's name for one of its outputs: (before, after).
OUTPUT_WORDS: dict[tuple[str, str], tuple[str, str]] = {
    ("macd", "macd"): ("the ", " line"),
    ("macd", "signal"): ("the ", " signal line"),
    ("macd", "hist"): ("the ", " histogram"),
    ("bbands", "upper"): ("the upper ", " band"),
    ("bbands", "middle"): ("the middle ", " band"),
    ("bbands", "lower"): ("the lower ", " band"),
    ("stoch", "k"): ("", " %K"),
    ("stoch", "d"): ("", " %D"),
    ("ichimoku", "tenkan"): ("the ", " conversion line"),
    ("ichimoku", "kijun"): ("the ", " base line"),
    ("ichimoku", "span_a"): ("", " span A"),
    ("ichimoku", "span_b"): ("", " span B"),
    ("supertrend", "line"): ("the ", " line"),
    ("supertrend", "direction"): ("the ", " direction"),
    ("donchian", "upper"): ("the upper ", " band"),
    ("donchian", "middle"): ("the middle ", " band"),
    ("donchian", "lower"): ("the lower ", " band"),
    ("keltner", "upper"): ("the upper ", " band"),
    ("keltner", "middle"): ("the middle ", " band"),
    ("keltner", "lower"): ("the lower ", " band"),
    ("stochrsi", "k"): ("", " %K"),
    ("stochrsi", "d"): ("", " %D"),
    ("aroon", "up"): ("", " up"),
    ("aroon", "down"): ("", " down"),
    ("dmi", "plus"): ("+", ""),
    ("dmi", "minus"): ("-", ""),
}
BANDED = ("bbands", "donchian", "keltner")  # indicators whose outputs are bands: "the upper Keltner band"
TIMES_WORD = "x"  # a scaled series: "3 x Volume SMA(20)"
OP_WORDS = {
    "<": "is below",
    "<=": "is at or below",
    ">": "is above",
    ">=": "is at or above",
    "crosses_above": "crosses above",
    "crosses_below": "crosses below",
}

Indicators = Mapping[str, Mapping[str, Any]]


class CardUnreadable(ValueError):
    """Edited card fields that could not be read into a draft; ``errors`` maps each card field to the reasons."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {'; '.join(reasons)}" for field, reasons in errors.items()))
        self.errors = errors


# --- words for numbers, indicators and rules --------------------------------------------------------------


def number_text(value: float) -> str:
    """A number as a trader writes it (30, 2.5, -100); twelve significant digits, so it reads back exactly."""
    return f"{float(value):.12g}"


def percent_text(ratio: float) -> str:
    """A ratio as a signed percentage: -0.05 -> "-5%"."""
    return f"{number_text(ratio * 100)}%"


def duration_text(minutes: int) -> str:
    """Minutes in days or hours when whole: 120 -> "2 h", 1440 -> "1 d", 90 -> "90 min"."""
    if minutes and minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    if minutes and minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def params_text(kind: str, params: Mapping[str, Any]) -> str:
    """An indicator's parameters in the catalogue's order: numbers always, words only when not the default."""
    values = []
    for name, field in CATALOGUE[kind].params.model_fields.items():
        value = params.get(name, field.default)
        if isinstance(value, int | float):
            values.append(number_text(value))
        elif value != field.default:
            values.append(str(value))
    return f"({', '.join(values)})" if values else ""


def indicator_label(item: Mapping[str, Any]) -> str:
    """An indicator with its parameters and any higher timeframe: "RSI(14)", "EMA(50, high)", "EMA(50) on 4h"."""
    kind = item["type"]
    return LABELS.get(kind, kind.upper()) + params_text(kind, item.get("params") or {}) + timeframe_text(item)


def timeframe_text(item: Mapping[str, Any]) -> str:
    """The words for an indicator's higher timeframe, " on 4h"; "" when it is on the strategy's own."""
    return f" on {item['timeframe']}" if item.get("timeframe") else ""


def indicator_map(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A draft's indicators by id."""
    return {item["id"]: item for item in data.get("indicators") or []}


def operand_text(operand: Any, indicators: Indicators) -> str:
    """One side of a rule: a number, a price ("the close"), an indicator or one of its outputs, or a Series of one
    ("3 x Volume SMA(20)")."""
    if isinstance(operand, Mapping):
        return series_words(operand, indicators)
    if not isinstance(operand, str):
        return number_text(operand)
    if operand in PRICE_COLUMNS:
        return "volume" if operand == "volume" else f"the {operand}"
    ident, _, output = operand.partition(".")
    item = indicators.get(ident)
    if item is None:
        return operand
    if not output:
        return indicator_label(item)
    kind = item["type"]
    words = OUTPUT_WORDS.get((kind, output))
    if words is None:  # a new output without words yet: "X(14) output on 4h"
        label = LABELS.get(kind, kind.upper()) + params_text(kind, item.get("params") or {})
        return f"{label} {output}{timeframe_text(item)}"
    owner = OWNER_NAMES.get(kind, LABELS.get(kind, kind.upper()))
    if sum(1 for other in indicators.values() if other["type"] == kind) > 1:  # name which one
        owner += params_text(kind, item.get("params") or {})
    return f"{words[0]}{owner}{words[1]}{timeframe_text(item)}"


def series_words(series: Mapping[str, Any], indicators: Indicators) -> str:
    """A Series operand, ``times * ref[ago] + plus``, in words that read back to it: "3 x Volume SMA(20)",
    "the close 3 candles ago", "EMA(50) on 4h 1 candle ago", "1.02 x EMA(50) + 100"."""
    text = operand_text(series["ref"], indicators)
    ago = series.get("ago", 0)
    if ago:
        text += f" {ago} candle{'' if ago == 1 else 's'} ago"
    times = series.get("times", 1.0)
    if times != 1.0:
        text = f"{number_text(times)} {TIMES_WORD} {text}"
    plus = series.get("plus", 0.0)
    if plus:
        text += f" {'-' if plus < 0 else '+'} {number_text(abs(plus))}"
    return text


def conditions_text(node: Mapping[str, Any] | None, indicators: Indicators, nested: bool = False) -> str:
    """A condition tree in words: "A, B and C"; nested groups of several in brackets; "" for no tree."""
    if not node:
        return ""
    for key, joiner in (("all", "and"), ("any", "or")):
        if key in node:
            parts = [conditions_text(child, indicators, True) for child in node[key]]
            text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" {joiner} " + parts[-1]
            return f"({text})" if nested and len(parts) > 1 else text
    left = operand_text(node["left"], indicators)
    right = operand_text(node["right"], indicators)
    return f"{left} {OP_WORDS.get(node['op'], node['op'])} {right}"


def signals_text(data: Mapping[str, Any], role: str) -> str:
    """The entry or exit field: the long rules, and "Long: … Short: …" for a draft that also trades short."""
    indicators = indicator_map(data)
    long = conditions_text(data.get(f"{role}_conditions"), indicators)
    if not data.get("can_short"):
        return long or NO_EXIT_TEXT
    short = conditions_text(data.get(f"{role}_short_conditions"), indicators)
    if not long and not short:
        return NO_EXIT_TEXT
    return f"Long: {long or NO_RULE}. Short: {short or NO_RULE}"


def roi_text(roi: Mapping[str, float]) -> str:
    """The ROI table: "10% at once, 4% after 2 h"."""
    steps = sorted((int(minutes), ratio) for minutes, ratio in roi.items())
    if not steps:
        return NO_ROI_TEXT
    return ", ".join(
        f"{percent_text(ratio)} {'at once' if minutes == 0 else f'after {duration_text(minutes)}'}"
        for minutes, ratio in steps
    )


def stoploss_text(data: Mapping[str, Any]) -> str:
    """The stop loss and any trailing stop: "-5%", "-10%, trailing, 2% behind the peak once 3% in profit"."""
    text = percent_text(data["stoploss"])
    if not data.get("trailing_stop"):
        return text
    text += ", trailing"
    positive, offset = data.get("trailing_stop_positive"), data.get("trailing_stop_positive_offset") or 0.0
    if positive:
        text += f", {percent_text(positive)} behind the peak"
        if offset:
            text += f" once {percent_text(offset)} in profit"
    if data.get("trailing_only_offset_is_reached"):
        text += ", fixed until then"
    return text


def summary(data: Mapping[str, Any]) -> str:
    """A one-sentence description generated from the rules, for a draft that has none of its own."""
    indicators = indicator_map(data)
    text = f"Buys when {conditions_text(data['entry_conditions'], indicators)}"
    if data.get("exit_conditions"):
        text += f"; sells when {conditions_text(data['exit_conditions'], indicators)}"
    if data.get("can_short") and data.get("entry_short_conditions"):
        text += f"; goes short when {conditions_text(data['entry_short_conditions'], indicators)}"
    text += f". {percent_text(abs(data['stoploss']))} stop loss."
    return text[:2000]


# --- the card ---------------------------------------------------------------------------------------------


def render_card(draft: StrategyDraft) -> dict[str, Any]:
    """The draft card the frontend shows: every field a non-empty plain-English string, ``can_short`` a bool,
    plus ``pairs``. Deterministic: the same draft gives the same card."""
    data = draft.model_dump()
    return {
        "name": data["name"],
        "description": data["description"] if data["description"].strip() else summary(data),
        "indicators": ", ".join(indicator_label(item) for item in data["indicators"]) or NO_INDICATORS_TEXT,
        "entry_signals": signals_text(data, "entry"),
        "exit_signals": signals_text(data, "exit"),
        "minimal_roi": roi_text(data["minimal_roi"]),
        "stoploss": stoploss_text(data),
        "timeframe": data["timeframe"],
        "can_short": data["can_short"],
        "pairs": ", ".join(data["pairs"]),
    }


def card_bool(value: Any) -> bool | None:
    """``can_short`` as sent: a bool, or a word for one ("true", "no"); None when it is neither."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("true", "yes", "on", "1"):
        return True
    if word in ("false", "no", "off", "0"):
        return False
    return None


def _comparable(field: str, value: Any) -> str:
    text = " ".join(str(value).split())
    return text if field in CASE_SENSITIVE_FIELDS else text.casefold()


def edited_fields(draft: StrategyDraft, card: Mapping[str, Any]) -> dict[str, Any]:
    """The card fields (and ``pairs``) whose value differs from the draft's own card, as sent.

    Whitespace never counts, case counts only in ``name`` and ``description``; ``can_short`` is compared
    as a bool. A field absent from ``card`` is not an edit, and keys that are not card fields are ignored.
    """
    shown = render_card(draft)
    edits: dict[str, Any] = {}
    for field in EDITABLE_FIELDS:
        if field not in card:
            continue
        value = card[field]
        if field == "can_short":
            if card_bool(value) != shown[field]:
                edits[field] = value
        elif _comparable(field, value) != _comparable(field, shown[field]):
            edits[field] = value
    return edits
