"""Coins and pairs: which markets a message names, and how they make or change a draft's pairs.

Why: "BTC and ETH", "SOLUSDT", "add DOGE", "swap ETH for SOL" all name pairs, and a revision must tell an
addition from a removal or a swap. Pairs share one quote currency; whatever cannot be used is said in a note.
"""

from __future__ import annotations

import re
from typing import Any

from gentrade.agents.offline.defaults import DEFAULT_BASE, DEFAULT_QUOTE
from gentrade.agents.offline.message import BREAK, Coin, Reading
from gentrade.agents.offline.text import blank

_COINS = {
    "bitcoin": "BTC",
    "btc": "BTC",
    "xbt": "BTC",
    "ethereum": "ETH",
    "ether": "ETH",
    "eth": "ETH",
    "solana": "SOL",
    "sol": "SOL",
    "binance coin": "BNB",
    "bnb": "BNB",
    "ripple": "XRP",
    "xrp": "XRP",
    "cardano": "ADA",
    "ada": "ADA",
    "dogecoin": "DOGE",
    "doge": "DOGE",
    "avalanche": "AVAX",
    "avax": "AVAX",
    "polkadot": "DOT",
    "litecoin": "LTC",
    "ltc": "LTC",
    "chainlink": "LINK",
    "tron": "TRX",
    "trx": "TRX",
    "shiba inu": "SHIB",
    "shib": "SHIB",
    "pepe": "PEPE",
    "sui": "SUI",
    "toncoin": "TON",
}
_QUOTES = r"usdt|usdc|busd|fdusd|tusd|dai|usd|eur|gbp|try|btc|eth|bnb"
_FIAT_QUOTES = r"usdt|usdc|busd|fdusd|tusd|dai|usd|eur|gbp|try"
_EXPLICIT_PAIR = re.compile(rf"\b([a-z][a-z0-9]{{1,14}})\s*[/-]\s*({_QUOTES})\b")
_JOINED_PAIR = re.compile(r"\b([a-z]{2,10}?)(usdt|usdc|busd|fdusd)\b")
_COIN = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(_COINS, key=lambda n: (-len(n), n))) + r")\b")
_QUOTE_HINT = re.compile(
    rf"\b(?:in|against|versus|vs\.?|quoted\s+in)\s+({_FIAT_QUOTES})\b|\b({_FIAT_QUOTES})\s+pairs?\b"
)
_NOT_BASES = frozenset({"rsi", "ema", "sma", "wma", "macd", "adx", "atr", "cci", "mfi", "obv", "vwap", "stop", "take"})

_PAIR_VERBS = re.compile(
    r"\b(?P<add>add(?:ing)?|include|also|plus|as\s+well\s+as)\b"
    r"|\b(?P<remove>remove|drop|delete|exclude|without|except|no\s+more|stop\s+trading|take\s+out|get\s+rid\s+of)\b"
    r"|\b(?P<swap>replace|swap|switch|change)\b"
    r"|\b(?P<into>with|for|to|by)\b"
    r"|\b(?P<instead>instead\s+of)\b"
)


def take_pairs(reading: Reading, text: str) -> str:
    coins: list[Coin] = []
    for pattern in (_EXPLICIT_PAIR, _JOINED_PAIR):
        for m in pattern.finditer(text):
            base, quote = m.group(1), m.group(2)
            if base in _NOT_BASES or base == quote or not text[m.start() : m.end()].strip():
                continue
            coins.append(Coin(_COINS.get(base, base).upper(), quote.upper(), m.start(), m.end()))
            text = blank(text, m.start(), m.end())
    for m in _COIN.finditer(text):
        coins.append(Coin(_COINS[m.group(1)], None, m.start(), m.end()))
    hint = _QUOTE_HINT.search(text)
    explicit = [c.quote for c in sorted(coins, key=lambda c: c.start) if c.quote]
    reading.quote = explicit[0] if explicit else (hint.group(1) or hint.group(2)).upper() if hint else None
    if hint:
        text = blank(text, hint.start(), hint.end())
    reading.coins = sorted(coins, key=lambda c: c.start)
    for coin in reading.coins:
        text = blank(text, coin.start, coin.end)
    return text


def fresh_pairs(reading: Reading) -> tuple[list[str], list[str]]:
    quote = reading.quote or DEFAULT_QUOTE
    notes: list[str] = []
    pairs: list[str] = []
    mixed = False
    for coin in reading.coins:
        if coin.quote and coin.quote != quote:
            mixed = True
        if coin.base == quote:
            continue
        pair = f"{coin.base}/{quote}"
        if pair not in pairs and _remove_verb(reading, coin) is None:
            pairs.append(pair)
    if mixed:
        notes.append(f"Pairs must share one quote currency: using {quote} for all.")
    if not pairs:
        pairs = [f"{DEFAULT_BASE}/{quote}"]
        notes.append(f"No pair named: using {pairs[0]}.")
    return pairs[:20], notes


def _verb_before(reading: Reading, coin: Coin) -> tuple[str, int] | None:
    """The nearest pair verb before a coin in its clause ('add', 'remove', 'swap', 'into', 'instead')."""
    clause_start = max((m.end() for m in BREAK.finditer(reading.text, 0, coin.start)), default=0)
    window_start = max(clause_start, coin.start - 60)
    verbs = list(_PAIR_VERBS.finditer(reading.text, window_start, coin.start))
    if not verbs:
        return None
    last = verbs[-1]
    return last.lastgroup or "", last.start()


def _remove_verb(reading: Reading, coin: Coin) -> str | None:
    verb = _verb_before(reading, coin)
    return "remove" if verb and verb[0] in ("remove", "instead") else None


def revise_pairs(reading: Reading, data: dict[str, Any]) -> list[str]:
    if not reading.coins:
        if reading.quote and reading.quote != data["pairs"][0].split("/")[1]:
            data["pairs"] = list(
                dict.fromkeys(
                    f"{p.split('/')[0]}/{reading.quote}" for p in data["pairs"] if p.split("/")[0] != reading.quote
                )
            )
        return []
    quote = reading.quote or data["pairs"][0].split("/")[1]
    adds: list[str] = []
    removes: list[str] = []
    sets: list[str] = []
    swapped = False
    for coin in reading.coins:
        pair = f"{coin.base}/{quote}"
        if coin.base == quote:
            continue
        verb = _verb_before(reading, coin)
        kind = verb[0] if verb else ""
        if kind == "remove" or kind == "instead" or (kind == "swap" and _next_is_into(reading, coin)):
            removes.append(pair)
            swapped = swapped or kind == "swap"
        elif (
            kind == "add"
            or (kind == "into" and swapped)
            or re.match(r"\s*(?:too|as\s+well)\b", reading.text[coin.end :])
        ):
            adds.append(pair)
        else:
            sets.append(pair)
    current = [f"{p.split('/')[0]}/{quote}" for p in data["pairs"]]
    pairs = [*sets, *adds] if sets else [*current, *adds]
    pairs = [p for p in dict.fromkeys(pairs) if p not in removes]
    if not pairs:
        return ["Removing every pair would leave nothing to trade: kept the pairs."]
    data["pairs"] = pairs[:20]
    return []


def _next_is_into(reading: Reading, coin: Coin) -> bool:
    return bool(re.match(r"\s*(?:with|for|to|by)\b", reading.text[coin.end :]))


def bases_named(text: str) -> list[str]:
    """The coins a (normalized) text names, as base currencies in order ("what went wrong with eth" -> ["ETH"])."""
    bases = [_COINS.get(m.group(1), m.group(1)).upper() for m in _EXPLICIT_PAIR.finditer(text)]
    bases += [_COINS[m.group(1)] for m in _COIN.finditer(text)]
    return list(dict.fromkeys(base for base in bases if base.lower() not in _NOT_BASES))
