"""The indicator catalogue: each indicator's typed parameters, named outputs and look-back.

One place defines what a draft may use. The draft model validates against it, the compiler
renders from it, and the agent's prompt describes it, so the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
Period = Annotated[int, Field(ge=2, le=500)]
Source = Literal["open", "high", "low", "close"]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rsi(Params):
    period: Period = 14


class MovingAverage(Params):
    period: Period = 20
    source: Source = "close"


class Macd(Params):
    fast: Annotated[int, Field(ge=2, le=200)] = 12
    slow: Annotated[int, Field(ge=3, le=400)] = 26
    signal: Annotated[int, Field(ge=2, le=200)] = 9

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Macd:
        if self.fast >= self.slow:
            raise ValueError("fast must be smaller than slow")
        return self


class Bollinger(Params):
    period: Period = 20
    std: Annotated[float, Field(ge=0.5, le=5.0, allow_inf_nan=False)] = 2.0


class Period14(Params):
    period: Period = 14


class Period20(Params):
    period: Period = 20


class Stochastic(Params):
    k_period: Period = 14
    k_smooth: Annotated[int, Field(ge=1, le=100)] = 3
    d_period: Annotated[int, Field(ge=1, le=100)] = 3


class NoParams(Params):
    pass


class Ichimoku(Params):
    conversion: Period = 9
    base: Period = 26
    span_b: Period = 52
    displacement: Annotated[int, Field(ge=1, le=200)] = 26


@dataclass(frozen=True)
class IndicatorSpec:
    """What the catalogue knows about one indicator type."""

    type: str
    title: str
    params: type[Params]
    outputs: tuple[str, ...]  # empty: a single series, referenced by the indicator id alone
    lookback: Callable[[Any], int]  # candles needed before the first meaningful value

    @property
    def multi_output(self) -> bool:
        return bool(self.outputs)


def _converging(periods: int) -> int:
    """Recursive averages (EMA-based) need several periods of history to converge."""
    return 3 * periods


CATALOGUE: dict[str, IndicatorSpec] = {
    spec.type: spec
    for spec in (
        IndicatorSpec("rsi", "Relative Strength Index (0-100)", Rsi, (), lambda p: _converging(p.period)),
        IndicatorSpec("sma", "Simple moving average", MovingAverage, (), lambda p: p.period),
        IndicatorSpec("ema", "Exponential moving average", MovingAverage, (), lambda p: _converging(p.period)),
        IndicatorSpec("wma", "Weighted moving average", MovingAverage, (), lambda p: p.period),
        IndicatorSpec(
            "macd",
            "MACD: macd line, signal line and histogram",
            Macd,
            ("macd", "signal", "hist"),
            lambda p: _converging(p.slow + p.signal),
        ),
        IndicatorSpec("bbands", "Bollinger Bands", Bollinger, ("upper", "middle", "lower"), lambda p: p.period),
        IndicatorSpec("atr", "Average True Range", Period14, (), lambda p: _converging(p.period)),
        IndicatorSpec("adx", "Average Directional Index (0-100)", Period14, (), lambda p: _converging(2 * p.period)),
        IndicatorSpec(
            "stoch",
            "Stochastic oscillator (0-100): %K and %D",
            Stochastic,
            ("k", "d"),
            lambda p: p.k_period + p.k_smooth + p.d_period,
        ),
        IndicatorSpec("cci", "Commodity Channel Index", Period20, (), lambda p: p.period),
        IndicatorSpec("mfi", "Money Flow Index (0-100)", Period14, (), lambda p: p.period + 1),
        IndicatorSpec("obv", "On-Balance Volume", NoParams, (), lambda p: 1),
        IndicatorSpec("vwap", "Rolling volume-weighted average price", Period20, (), lambda p: p.period),
        IndicatorSpec(
            "ichimoku",
            "Ichimoku cloud (no lagging span: it looks ahead)",
            Ichimoku,
            ("tenkan", "kijun", "span_a", "span_b"),
            lambda p: max(p.conversion, p.base, p.span_b) + p.displacement,
        ),
    )
}
INDICATOR_TYPES = tuple(CATALOGUE)
# Levels that split bullish from bearish readings (an oscillator's middle; MACD's zero line): "RSI below 30"
# mirrors to "RSI above 70". Both the offline drafter and the short side of a card use them.
OSCILLATOR_MIDDLES: dict[str, float] = {"rsi": 50.0, "mfi": 50.0, "stoch": 50.0, "cci": 0.0, "macd": 0.0}
# Indicators that measure trend strength or volatility, not direction: a rule on them holds for longs and shorts.
DIRECTIONLESS = ("adx", "atr")


def describe() -> str:
    """A plain-text catalogue for prompts and documentation."""
    lines = []
    for spec in CATALOGUE.values():
        params = ", ".join(f"{name}={field.default}" for name, field in spec.params.model_fields.items())
        outputs = f"; outputs: {', '.join(spec.outputs)}" if spec.outputs else ""
        lines.append(f"- {spec.type}: {spec.title} (params: {params or 'none'}{outputs})")
    return "\n".join(lines)
