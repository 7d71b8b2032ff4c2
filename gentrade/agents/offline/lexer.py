"""The lexer: a clause's words as tokens (indicators, prices, numbers, comparisons, references).

Why: traders name the same indicator a dozen ways ("EMA 50", "50-period EMA", "the 50 ema") and compare with as
many words ("drops under", "<", "at most"). The lexer turns those words into a short list of typed tokens so the
condition reader works on meaning, not spelling. It reads only; it resolves nothing against a draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gentrade.agents.offline.vocabulary import (
    AVERAGE_NAMES,
    AVERAGE_OF,
    FALLING,
    INDICATOR_PATTERNS,
    RISING,
    SCALED,
    SURGE,
    TIMES,
    TIMES_WORDS,
    TWIST,
    Mention,
    average_type,
)
from gentrade.strategies.card import LABELS

# --- the lexer: words -> tokens ---------------------------------------------------------------------------

_MA_NAME = (
    r"(?:exponential\s+moving\s+average|simple\s+moving\s+average|weighted\s+moving\s+average"
    rf"|{AVERAGE_NAMES}|moving\s+average|ema|sma|wma|ma)"
)
_PERIOD_WORD = r"(?:\s*-?\s*(?:period|day|bar|candle|length)s?)"
_OSC_NAMES = {
    "rsi": r"rsi|relative\s+strength(?:\s+index)?",
    "cci": r"cci|commodity\s+channel(?:\s+index)?",
    "mfi": r"mfi|money\s+flow(?:\s+index)?",
    "atr": r"atr|average\s+true\s+range",
    "adx": r"adx|average\s+directional(?:\s+(?:index|movement))?",
    "vwap": r"vwap|volume[\s-]+weighted(?:\s+average)?(?:\s+price)?",
    "obv": r"obv|on[\s-]*balance[\s-]*volume",
}
_BARE_ALLOWED = ("rsi", "cci", "mfi")  # "RSI 7": other names take a period only in brackets or with "period"


@dataclass(frozen=True)
class Token:
    kind: str  # ind | price | num | op | ref | cloud | cond | dir | times | avg | surge | twist
    start: int
    end: int
    op: str = ""
    value: float = 0.0  # a number; for "times" the factor, for "avg" the period (0: unnamed)
    mention: Mention | None = None
    name: str = ""
    times: float = 1.0  # "2% above": the comparison scales its right side


def _ma_type(word: str) -> tuple[str, str | None]:
    word = re.sub(r"\s+", " ", word)
    newer = average_type(word)
    if newer:
        return newer, None
    if word.startswith(("ema", "exponential")):
        return "ema", None
    if word.startswith(("wma", "weighted")):
        return "wma", None
    if word in ("ma", "moving average"):
        return "sma", "'Moving average' read as a simple moving average (SMA)."
    return "sma", None


def _ma_mention(word: str, period: str | None, note: str | None = None) -> Mention:
    kind, type_note = _ma_type(word)
    if period is None:
        return Mention(kind, (), note=note or f"No {LABELS[kind]} period named: using 20.")
    return Mention(kind, (("period", int(period)),), note=type_note)


def _lex_ma_pair_prefix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(3), m.group(1)), _ma_mention(m.group(3), m.group(2))]


def _lex_ma_pair_suffix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(1), m.group(2)), _ma_mention(m.group(1), m.group(3))]


def _lex_ma_prefix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(2), m.group(1))]


def _lex_ma_suffix(m: re.Match[str]) -> list[Mention]:
    return [_ma_mention(m.group(1), m.group(2) or m.group(3) or m.group(4))]


def _lex_fast_slow(m: re.Match[str]) -> list[Mention]:
    period = "9" if m.group(1) == "fast" else "21"
    kind, _ = _ma_type(m.group(2))
    note = f"'{m.group(1)} {LABELS[kind]}' read as {LABELS[kind]}({period})."
    return [Mention(kind, (("period", int(period)),), note=note)]


def _osc_prefix(kind: str) -> Callable[[re.Match[str]], list[Mention]]:
    def lex(m: re.Match[str]) -> list[Mention]:
        return [Mention(kind, () if kind == "obv" else (("period", int(m.group(1))),))]

    return lex


def _osc_suffix(kind: str) -> Callable[[re.Match[str]], list[Mention]]:
    def lex(m: re.Match[str]) -> list[Mention]:
        period = m.group(1) or m.group(2) or m.group(3)
        if kind == "obv":
            return [Mention(kind)]
        if period:
            return [Mention(kind, (("period", int(period)),))]
        if m.group(4) and kind in _BARE_ALLOWED:
            return [Mention(kind, bare=int(m.group(4)))]
        return [Mention(kind)]

    return lex


def _lex_macd(m: re.Match[str]) -> list[Mention]:
    numbers = [g for g in m.groups()[:6] if g]
    params = tuple(zip(("fast", "slow", "signal"), map(int, numbers), strict=False)) if numbers else ()
    output = m.group(7)
    if output:
        output = {"line": "macd", "histogram": "hist", "hist": "hist"}.get(output, "signal")
    return [Mention("macd", params, output=output)]


def _band_output(word: str | None) -> str | None:
    return {"lower": "lower", "upper": "upper", "middle": "middle", "mid": "middle"}.get(word or "")


def _lex_bollinger(m: re.Match[str]) -> list[Mention]:
    params: tuple[tuple[str, float], ...] = ()
    if m.group(2):
        params = (("period", int(m.group(2))), ("std", float(m.group(3))))
    return [Mention("bbands", params, output=_band_output(m.group(1) or m.group(4)))]


def _lex_band(m: re.Match[str]) -> list[Mention]:
    return [Mention("bbands", output=_band_output(m.group(1)))]


def _lex_stoch(m: re.Match[str]) -> list[Mention]:
    kind = "stochrsi" if m.group(1) or m.group(0).startswith("stochrsi") else "stoch"
    numbers = [int(g) for g in m.groups()[1:4] if g]
    names = ("period", "k_period", "d_period") if kind == "stochrsi" else ("k_period", "k_smooth", "d_period")
    params = tuple(zip(names, numbers, strict=False)) if numbers else ()
    return [Mention(kind, params, output=m.group(5))]


def _ichimoku(output: str | None) -> Callable[[re.Match[str]], list[Mention]]:
    def lex(m: re.Match[str]) -> list[Mention]:
        return [Mention("ichimoku", output=output)]

    return lex


_NUM3 = r"(\d{1,3})"
_IND_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], list[Mention]]]] = [
    *INDICATOR_PATTERNS,
    (
        re.compile(rf"{_NUM3}\s*(?:and|/|&|,|-)\s*{_NUM3}{_PERIOD_WORD}?\s*-?\s*({_MA_NAME})s?\b"),
        _lex_ma_pair_prefix,
    ),
    (
        re.compile(rf"({_MA_NAME})s?\s*\(?\s*{_NUM3}\s*(?:and|/|&|,)\s*{_NUM3}\s*\)?(?![\d.%])"),
        _lex_ma_pair_suffix,
    ),
    (re.compile(rf"{_NUM3}{_PERIOD_WORD}?\s*-?\s*({_MA_NAME})s?\b"), _lex_ma_prefix),
    (re.compile(rf"(fast|slow)(?:er)?\s+({_MA_NAME})s?\b"), _lex_fast_slow),
    (
        re.compile(
            rf"({_MA_NAME})s?(?:\s*\(\s*{_NUM3}\s*\)|\s*-?\s*{_NUM3}(?![\d.%])|\s+(?:period|length)\s*(?:of\s+)?{_NUM3})?"
            r"(?![a-z])"
        ),
        _lex_ma_suffix,
    ),
    (
        re.compile(
            r"(?:(lower|upper|middle|mid)\s+)?(?:bollinger(?:\s+bands?)?|bbands?|bb)\b"
            r"(?:\s*\(\s*(\d{1,3})\s*[,/ ]\s*(\d+(?:\.\d+)?)\s*\))?(?:\s+(lower|upper|middle|mid)\b(?:\s+bands?)?)?"
        ),
        _lex_bollinger,
    ),
    (re.compile(r"(lower|upper|middle|mid)\s+bands?\b"), _lex_band),
    (
        re.compile(
            r"(?:stoch(?:astic)?(?:\s+oscillator)?(\s*-?\s*rsi)?|(?:stochrsi))\b"
            r"(?:\s*\(\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*\))?(?:\s*%?\s*(k|d)\b)?"
        ),
        _lex_stoch,
    ),
    (
        re.compile(
            r"macd\b(?:\s*\(\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*[,/ ]\s*(\d{1,3})\s*\)"
            r"|\s+(\d{1,3})\s*[,/]\s*(\d{1,3})\s*[,/]\s*(\d{1,3}))?(?:\s+(line|histogram|hist|signal(?:\s+line)?)\b)?"
        ),
        _lex_macd,
    ),
    (re.compile(r"tenkan(?:[\s-]*sen)?\b|conversion\s+line\b"), _ichimoku("tenkan")),
    (re.compile(r"kijun(?:[\s-]*sen)?\b|base\s+line\b"), _ichimoku("kijun")),
    (re.compile(r"(?:senkou\s+)?span\s*a\b"), _ichimoku("span_a")),
    (re.compile(r"(?:senkou\s+)?span\s*b\b"), _ichimoku("span_b")),
    *(
        (re.compile(rf"{_NUM3}{_PERIOD_WORD}\s*-?\s*(?:{name})\b"), _osc_prefix(kind))
        for kind, name in _OSC_NAMES.items()
    ),
    *(
        (
            re.compile(
                rf"(?:{name})\b(?:\s*\(\s*{_NUM3}\s*\)|-{_NUM3}(?![\d.%])|\s+(?:period|length)\s*(?:of\s+)?{_NUM3}"
                + (
                    rf"|\s*{_NUM3}(?![\d.%]))?" if kind in _BARE_ALLOWED else r"|(x)^)?"
                )  # (x)^: a group that never matches
            ),
            _osc_suffix(kind),
        )
        for kind, name in _OSC_NAMES.items()
    ),
]
_CLOUD = re.compile(r"(?:ichimoku\s+)?(?:cloud|kumo)\b")
_ICHIMOKU = re.compile(r"ichimoku(?:\s+kinko\s+hyo)?\b")
_GOLDEN = re.compile(r"(golden|death)\s+cross(?:es|ing)?\b")
_OP_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"overbought\b|over\s+bought\b"), "overbought"),
    (re.compile(r"oversold\b|over\s+sold\b"), "oversold"),
    (
        re.compile(
            r"(?:cross(?:es|ed|ing)?|break(?:s|ing)?(?:\s+out)?|broke(?:\s+out)?)\s+(?:back\s+)?"
            r"(?:above|over|up(?:wards?)?(?:\s+through)?)\b"
        ),
        "crosses_above",
    ),
    (
        re.compile(
            r"(?:cross(?:es|ed|ing)?|break(?:s|ing)?(?:\s+down)?|broke(?:\s+down)?)\s+(?:back\s+)?"
            r"(?:below|under|beneath|down(?:wards?)?(?:\s+through)?)\b"
        ),
        "crosses_below",
    ),
    (re.compile(r"(?:cross(?:es|ed|ing)?|crossovers?)\b"), "cross"),
    (re.compile(r"<=|at\s+or\s+(?:below|under)\b|at\s+most\b|no\s+(?:more|higher)\s+than\b"), "<="),
    (re.compile(r">=|at\s+or\s+above\b|at\s+least\b|no\s+(?:less|lower)\s+than\b"), ">="),
    (re.compile(r"(?:drops?|dropped|falls?|fell|dips?|dipped|sinks?)\s+to\b"), "<="),
    (re.compile(r"(?:rises?|rose|climbs?|climbed|gets?|goes)\s+to\b"), ">="),
    (re.compile(r"<|(?:below|under|beneath|less\s+than|lower\s+than|smaller\s+than)\b"), "<"),
    (
        re.compile(r">|(?:above|over|greater\s+than|higher\s+than|more\s+than|exceeds?|exceeding|exceeded|beyond)\b"),
        ">",
    ),
    (RISING, "rising"),
    (FALLING, "falling"),
    (re.compile(r"(?:turns?\s+|goes\s+|is\s+|becomes?\s+|flips?\s+)?(?:positive|green)\b"), "positive"),
    (re.compile(r"(?:turns?\s+|goes\s+|is\s+|becomes?\s+|flips?\s+)?(?:negative|red)\b"), "negative"),
    (re.compile(r"(?:touch(?:es|ed|ing)?|hits?|hitting|reach(?:es|ed|ing)?|tags?|tagged|tests?|at)\b"), "touch"),
]
_REF_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:(?:its|the|their)\s+)?signal(?:\s+line)?\b"), "signal"),
    (re.compile(r"(?:(?:its|the)\s+)?hist(?:ogram)?\b"), "hist"),
    (re.compile(r"%\s*k\b|k\s+line\b"), "k"),
    (re.compile(r"%\s*d\b|d\s+line\b"), "d"),
    (re.compile(r"it\b"), "it"),
]
_PRICE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:price|close|closes|closed|closing(?:\s+price)?|candle\s+close)\b"), "close"),
    (re.compile(r"open\b"), "open"),
    (re.compile(r"high\b"), "high"),
    (re.compile(r"low\b"), "low"),
    (re.compile(r"volume\b"), "volume"),
]
_NUM = re.compile(r"[-+]?\d+(?:\.\d+)?(?![\d%a-z]|\.\d)|zero\b")
_DIR = re.compile(r"(bullish|bearish)\b")
_SKIP = re.compile(r"\w+|\S")


def lex_tokens(text: str, start: int, end: int) -> list[Token]:
    """Tokens in ``text[start:end]``: indicators, price columns, numbers, comparisons, references."""
    tokens: list[Token] = []
    pos = start
    while pos < end:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos >= end:
            break
        token, pos = _lex_one(text, pos, end)
        if token:
            tokens.extend(token)
    return tokens


def _lex_one(text: str, pos: int, end: int) -> tuple[list[Token], int]:
    """The tokens of the word at ``pos`` (the first rule of :data:`_TOKEN_RULES` that matches), and where the next
    word starts; a word that is no token is skipped, and so is the inside of a word."""
    if not (pos > 0 and text[pos - 1].isalnum() and text[pos].isalnum()):
        for pattern, tokens_of in _TOKEN_RULES:
            m = pattern.match(text, pos, end)
            if m:
                return tokens_of(m), m.end()
    m = _SKIP.match(text, pos, end)
    return [], m.end() if m else pos + 1


TokenMaker = Callable[[re.Match[str]], list[Token]]


def _plain(kind: str, **fields: str) -> TokenMaker:
    """One token of ``kind`` over the match, with fixed ``fields``."""
    return lambda m: [Token(kind, m.start(), m.end(), **fields)]


def _golden(m: re.Match[str]) -> list[Token]:
    return [Token("cond", m.start(), m.end(), op="crosses_above" if m.group(1) == "golden" else "crosses_below")]


def _surge(m: re.Match[str]) -> list[Token]:
    """A surge is twice the average unless a factor follows; "high volume" just above it."""
    return [Token("surge", m.start(), m.end(), value=2.0 if m.group(1) or m.group(2) else 1.0)]


def _indicators(lex: Callable[[re.Match[str]], list[Mention]]) -> TokenMaker:
    return lambda m: [Token("ind", m.start(), m.end(), mention=mention) for mention in lex(m)]


def _scaled(m: re.Match[str]) -> list[Token]:
    share = float(m.group(1)) / 100
    op, times = (">", 1 + share) if m.group(2) else ("<", 1 - share)
    return [Token("op", m.start(), m.end(), op=op, times=round(times, 6))]


def _times(m: re.Match[str]) -> list[Token]:
    value = float(m.group(1)) if m.group(1) else TIMES_WORDS[m.group(2) or m.group(3)]
    return [Token("times", m.start(), m.end(), value=value)]


def _average_of(m: re.Match[str]) -> list[Token]:
    return [Token("avg", m.start(), m.end(), value=float(m.group(1) or 0))]


def _direction(m: re.Match[str]) -> list[Token]:
    return [Token("dir", m.start(), m.end(), name=m.group(1))]


def _number(m: re.Match[str]) -> list[Token]:
    value = 0.0 if m.group(0) == "zero" else float(m.group(0))
    return [Token("num", m.start(), m.end(), value=value)]


# What a word at a position may be, tried in this order (the first match wins: "golden cross" before "cross").
_TOKEN_RULES: list[tuple[re.Pattern[str], TokenMaker]] = [
    (_GOLDEN, _golden),
    (TWIST, _plain("twist")),
    (_CLOUD, _plain("cloud")),
    (SURGE, _surge),
    (_ICHIMOKU, _indicators(lambda _m: [Mention("ichimoku")])),
    *((pattern, _indicators(lex)) for pattern, lex in _IND_PATTERNS),
    (SCALED, _scaled),
    (TIMES, _times),
    (AVERAGE_OF, _average_of),
    *((pattern, _plain("op", op=op)) for pattern, op in _OP_PATTERNS),
    *((pattern, _plain("ref", name=name)) for pattern, name in _REF_PATTERNS),
    *((pattern, _plain("price", name=name)) for pattern, name in _PRICE_PATTERNS),
    (_DIR, _direction),
    (_NUM, _number),
]


SERIES_KINDS = ("ind", "price", "ref", "avg")  # tokens that name a series, i.e. can be compared and scaled
