"""Short answers to general questions: indicators, risk, backtests, deploying, and what the offline assistant does.

Why: without a model the assistant still answers the usual questions plainly; the topic named first wins.
"""

from __future__ import annotations

import re

from gentrade.agents.offline.text import normalize
from gentrade.agents.offline.vocabulary import ANSWERS, unsupported, unsupported_answer

_ANSWERS: list[tuple[re.Pattern[str], str]] = [
    *ANSWERS,  # the newer indicators first: "Stoch RSI" before "stochastic", "+DI" before "directional"
    (
        re.compile(r"\b(?:hello|hi|hey|good\s+(?:morning|afternoon|evening))\b"),
        "Hello! Describe a strategy in plain words, for example 'buy BTC when RSI(14) drops under 30 on the 1h chart, "
        "sell above 70, 5% stop loss', and I will draft it. Ask me about indicators, risk or backtests any time.",
    ),
    (
        re.compile(r"\b(?:thanks|thank\s+you|thx|cheers)\b"),
        "You're welcome. Deploy the draft when it looks right, or tell me what to change.",
    ),
    (
        re.compile(r"\bstoch(?:astic)?\b"),
        "The Stochastic oscillator compares the close with the recent high-low range (0-100): %K is the fast line, "
        "%D its average. Below 20 is usually called oversold, above 80 overbought; %K crossing %D is a common trigger.",
    ),
    (
        re.compile(r"\brsi\b|relative\s+strength"),
        "RSI (Relative Strength Index) measures recent gains against recent losses on a 0-100 scale, usually over "
        "14 candles. Below 30 is commonly read as oversold and above 70 as overbought, so a classic rule buys under "
        "30 and sells above 70.",
    ),
    (
        re.compile(r"\bmacd\b"),
        "MACD is the difference between a fast (12) and a slow (26) EMA; its signal line is a 9-period EMA of it and "
        "the histogram is the gap between the two. MACD crossing above its signal is a common bullish trigger, "
        "crossing below a bearish one.",
    ),
    (
        re.compile(r"\bbollinger\b|\bbands?\b"),
        "Bollinger Bands are a 20-period moving average with bands two standard deviations above and below. Closes "
        "below the lower band are often traded as mean-reversion entries, with exits at the middle or upper band.",
    ),
    (
        re.compile(r"\b(?:ema|sma|wma|moving\s+averages?)\b"),
        "A moving average smooths the price: the SMA weights every candle equally, the EMA weights recent candles "
        "more and reacts faster. Price above a long average (say EMA 50 or 200) is a common trend filter, and a fast "
        "average crossing a slow one a common trigger.",
    ),
    (
        re.compile(r"\badx\b|directional"),
        "ADX measures trend strength (not direction) on a 0-100 scale; above about 25 is usually read as a trending "
        "market, so 'ADX above 25' is a common filter for trend-following entries.",
    ),
    (
        re.compile(r"\batr\b|true\s+range"),
        "ATR (Average True Range) measures volatility in price units: the typical size of a candle's range over 14 "
        "candles. Traders use it to size stops and positions.",
    ),
    (
        re.compile(r"\bvwap\b"),
        "VWAP is the volume-weighted average price; here it is a rolling VWAP over 20 candles. Price above VWAP is "
        "often read as buyers in control.",
    ),
    (
        re.compile(r"\bichimoku\b|\bcloud\b"),
        "Ichimoku draws a 'cloud' between two leading spans; price above the cloud is read as an uptrend, below it as "
        "a downtrend. The conversion (tenkan) and base (kijun) lines crossing are common signals.",
    ),
    (
        re.compile(r"\btrailing\b"),
        "A trailing stop follows the price up: it keeps the stop a fixed distance below the highest price since entry, "
        "locking in gains while letting a winning trade run.",
    ),
    (
        re.compile(r"\bstop[\s-]*loss|\bstoploss|\bstop\b"),
        "A stop loss closes a trade once it has lost a set share of its value, e.g. -0.05 closes at a 5% loss. Every "
        "draft has one; tell me 'make the stop 3%' to change it.",
    ),
    (
        re.compile(r"\bdraw[\s-]*down"),
        "Drawdown is the fall from a peak in account value to the following low, as a percentage. Maximum drawdown "
        "in a backtest is the worst such fall: a measure of how painful the strategy was to hold.",
    ),
    (
        re.compile(r"\bsharpe|\bsortino|\bcalmar"),
        "The Sharpe ratio is return per unit of volatility (higher is better; above 1 is decent). Sortino counts only "
        "downside volatility, and Calmar divides return by maximum drawdown.",
    ),
    (
        re.compile(r"\bwin\s*rate|\bprofit\s+factor"),
        "Win rate is the share of trades that closed in profit; profit factor is gross profit divided by gross loss. "
        "A low win rate can still pay when winners are much larger than losers.",
    ),
    (
        re.compile(r"\b(?:take[\s-]*profit|roi)\b"),
        "The ROI table (minimal_roi) closes a trade once it reaches a profit target, optionally lower after some "
        "minutes, e.g. {'0': 0.10} takes profit at 10%. Tell me 'take profit at 5%' to change it.",
    ),
    (
        re.compile(r"\bdeploy"),
        "To deploy a draft, use Deploy on the draft in the chat: the backend compiles it into a Freqtrade strategy, "
        "reviews the code, stores it and links it to your chat. You can then backtest it from the strategy page.",
    ),
    (
        re.compile(r"\bback[\s-]*test"),
        "A backtest replays the strategy on historical candles for a date range and reports profit, trades, win rate, "
        "drawdown and a per-pair table. Deploy the draft first, then start a backtest for the range you want.",
    ),
    (
        re.compile(r"\btime\s*frames?\b|\bcandles?\b|\bchart\b|\b(?:1|5|15|30)m\b|\b(?:1|4)h\b|\b1d\b"),
        "The timeframe is the candle length the strategy reads: 1m, 5m, 15m, 30m, 1h, 4h or 1d. Shorter timeframes "
        "trade more often and pay more fees; longer ones are slower but less noisy.",
    ),
    (
        re.compile(r"\bshort(?:ing)?\b"),
        "Shorting profits when the price falls. Drafts can trade short (can_short), but the offline assistant drafts "
        "long-only strategies.",
    ),
    (
        re.compile(r"\bfreqtrade\b"),
        "Freqtrade is the open-source trading bot that runs the strategies here: each draft becomes a Freqtrade "
        "strategy class, and backtests run Freqtrade on historical data.",
    ),
    (
        re.compile(r"\bpairs?\b"),
        "A pair is a market such as BTC/USDT: the base coin priced in the quote currency. A draft can trade several "
        "pairs that share one quote currency.",
    ),
]

FALLBACK_ANSWER = (
    "I'm GenTrade's offline assistant: I work without an AI provider, so my answers are short and rule-based. "
    "I can draft a strategy from plain rules (for example 'buy ETH when RSI(14) drops under 30 on the 4h chart, "
    "sell above 70, 5% stop loss'), revise it from feedback ('use EMA 50 as a trend filter', 'make the stop 3%'), "
    "and explain indicators (RSI, EMA, MACD, Bollinger Bands, ADX), risk (stop loss, drawdown, Sharpe), backtests "
    "and deploying."
)


def general_answer(text: str) -> str:
    """A short answer about the topic named first in the question, or what the offline assistant can do."""
    t = normalize(text)
    names = unsupported(t)
    if names:
        return unsupported_answer(names)
    best: tuple[int, int, str] | None = None
    for order, (pattern, answer) in enumerate(_ANSWERS):
        m = pattern.search(t)
        if m and (best is None or (m.start(), order) < best[:2]):
            best = (m.start(), order, answer)
    return best[2] if best else FALLBACK_ANSWER
