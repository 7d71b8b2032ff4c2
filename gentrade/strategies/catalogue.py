"""The indicator catalogue: each indicator's typed parameters, named outputs, look-back and value range.

One place defines what a draft may use. The draft model validates against it, the compiler
renders from it, and the agent's prompt describes it, so the three cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


class Period10(Params):
    period: Period = 10


class Supertrend(Params):
    period: Period = 10
    multiplier: Annotated[float, Field(ge=0.5, le=10.0, allow_inf_nan=False)] = 3.0


class ParabolicSar(Params):
    acceleration: Annotated[float, Field(ge=0.001, le=0.5, allow_inf_nan=False)] = 0.02
    maximum: Annotated[float, Field(ge=0.01, le=1.0, allow_inf_nan=False)] = 0.2

    @model_validator(mode="after")
    def _step_below_maximum(self) -> ParabolicSar:
        if self.acceleration > self.maximum:
            raise ValueError("acceleration must not exceed maximum")
        return self


class Keltner(Params):
    period: Period = 20
    atrs: Annotated[float, Field(ge=0.5, le=5.0, allow_inf_nan=False)] = 2.0


class StochRsi(Params):
    period: Period = 14
    k_period: Annotated[int, Field(ge=1, le=100)] = 5
    d_period: Annotated[int, Field(ge=1, le=100)] = 3


class Ichimoku(Params):
    conversion: Period = 9
    base: Period = 26
    span_b: Period = 52
    displacement: Annotated[int, Field(ge=1, le=200)] = 26


Bounds = tuple[float | None, float | None]  # the lowest and highest value a series can take (None: open)


@dataclass(frozen=True)
class IndicatorSpec:
    """What the catalogue knows about one indicator type."""

    type: str
    title: str
    params: type[Params]
    outputs: tuple[str, ...]  # empty: a single series, referenced by the indicator id alone
    lookback: Callable[[Any], int]  # candles needed before the first meaningful value
    # Value ranges, for every output ("" for a single series): a condition comparing a number outside one
    # can never, or always, hold, so the draft refuses it.
    bounds: Mapping[str, Bounds] = field(default_factory=dict)

    @property
    def multi_output(self) -> bool:
        return bool(self.outputs)

    def range_of(self, output: str = "") -> Bounds:
        return self.bounds.get(output, (None, None))


def _each(outputs: tuple[str, ...], bounds: Bounds) -> dict[str, Bounds]:
    return {output: bounds for output in outputs}


PERCENT: Bounds = (0.0, 100.0)
NON_NEGATIVE: Bounds = (0.0, None)


def _converging(periods: int) -> int:
    """Recursive averages (EMA-based) need several periods of history to converge."""
    return 3 * periods


CATALOGUE: dict[str, IndicatorSpec] = {
    spec.type: spec
    for spec in (
        IndicatorSpec(
            "rsi", "Relative Strength Index (0-100)", Rsi, (), lambda p: _converging(p.period), {"": PERCENT}
        ),
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
        IndicatorSpec("atr", "Average True Range", Period14, (), lambda p: _converging(p.period), {"": NON_NEGATIVE}),
        IndicatorSpec(
            "adx",
            "Average Directional Index (0-100)",
            Period14,
            (),
            lambda p: _converging(2 * p.period),
            {"": PERCENT},
        ),
        IndicatorSpec(
            "stoch",
            "Stochastic oscillator (0-100): %K and %D",
            Stochastic,
            ("k", "d"),
            lambda p: p.k_period + p.k_smooth + p.d_period,
            _each(("k", "d"), PERCENT),
        ),
        IndicatorSpec("cci", "Commodity Channel Index", Period20, (), lambda p: p.period),
        IndicatorSpec("mfi", "Money Flow Index (0-100)", Period14, (), lambda p: p.period + 1, {"": PERCENT}),
        IndicatorSpec("obv", "On-Balance Volume", NoParams, (), lambda p: 1),
        IndicatorSpec("vwap", "Rolling volume-weighted average price", Period20, (), lambda p: p.period),
        IndicatorSpec(
            "ichimoku",
            "Ichimoku cloud (no lagging span: it looks ahead)",
            Ichimoku,
            ("tenkan", "kijun", "span_a", "span_b"),
            lambda p: max(p.conversion, p.base, p.span_b) + p.displacement,
        ),
        IndicatorSpec(
            "supertrend",
            "Supertrend: the trailing line, and direction (1 up, -1 down; a flip is direction crossing 0)",
            Supertrend,
            ("line", "direction"),
            lambda p: _converging(p.period),
            {"line": NON_NEGATIVE, "direction": (-1.0, 1.0)},
        ),
        IndicatorSpec("sar", "Parabolic SAR (a price level)", ParabolicSar, (), lambda p: 50, {"": NON_NEGATIVE}),
        IndicatorSpec("willr", "Williams %R (-100..0)", Period14, (), lambda p: p.period, {"": (-100.0, 0.0)}),
        IndicatorSpec(
            "donchian",
            "Donchian channel: highest high, lowest low (current candle included) and their middle",
            Period20,
            ("upper", "middle", "lower"),
            lambda p: p.period,
            _each(("upper", "middle", "lower"), NON_NEGATIVE),
        ),
        IndicatorSpec(
            "keltner",
            "Keltner channel: typical-price average +/- ATR multiples",
            Keltner,
            ("upper", "middle", "lower"),
            lambda p: _converging(p.period),
        ),
        IndicatorSpec("roc", "Rate of change, in percent", Period10, (), lambda p: p.period + 1, {"": (-100.0, None)}),
        IndicatorSpec("mom", "Momentum: close minus the close N candles ago", Period10, (), lambda p: p.period + 1),
        IndicatorSpec(
            "volume_sma", "Simple moving average of the volume", Period20, (), lambda p: p.period, {"": NON_NEGATIVE}
        ),
        IndicatorSpec(
            "stochrsi",
            "Stochastic RSI (0-100): %K and %D",
            StochRsi,
            ("k", "d"),
            lambda p: _converging(p.period) + p.period + p.k_period + p.d_period,
            _each(("k", "d"), PERCENT),
        ),
        IndicatorSpec(
            "cmo",
            "Chande Momentum Oscillator (-100..100)",
            Period14,
            (),
            lambda p: _converging(p.period),
            {"": (-100.0, 100.0)},
        ),
        IndicatorSpec(
            "aroon",
            "Aroon (0-100): up and down",
            Period14,
            ("up", "down"),
            lambda p: p.period + 1,
            _each(("up", "down"), PERCENT),
        ),
        IndicatorSpec(
            "dmi",
            "Directional movement (0-100): +DI and -DI",
            Period14,
            ("plus", "minus"),
            lambda p: _converging(p.period),
            _each(("plus", "minus"), PERCENT),
        ),
        IndicatorSpec(
            "dema", "Double exponential moving average", MovingAverage, (), lambda p: _converging(2 * p.period)
        ),
        IndicatorSpec(
            "tema", "Triple exponential moving average", MovingAverage, (), lambda p: _converging(3 * p.period)
        ),
        IndicatorSpec("hma", "Hull moving average", MovingAverage, (), lambda p: 2 * p.period),
        IndicatorSpec(
            "natr",
            "Normalised ATR, in percent of the close",
            Period14,
            (),
            lambda p: _converging(p.period),
            {"": NON_NEGATIVE},
        ),
    )
}
INDICATOR_TYPES = tuple(CATALOGUE)
# Levels that split bullish from bearish readings (an oscillator's middle; MACD's zero line): "RSI below 30"
# mirrors to "RSI above 70". Both the offline drafter and the short side of a card use them.
OSCILLATOR_MIDDLES: dict[str, float] = {
    "rsi": 50.0, "mfi": 50.0, "stoch": 50.0, "cci": 0.0, "macd": 0.0, "willr": -50.0, "stochrsi": 50.0,
    "cmo": 0.0, "roc": 0.0, "mom": 0.0, "supertrend": 0.0,
}  # fmt: skip
# Indicators that measure trend strength, volatility or volume, not direction: a rule on them holds for longs
# and shorts.
DIRECTIONLESS = ("adx", "atr", "natr", "volume_sma")


def describe() -> str:
    """A plain-text catalogue for prompts and documentation."""
    lines = []
    for spec in CATALOGUE.values():
        params = ", ".join(f"{name}={field.default}" for name, field in spec.params.model_fields.items())
        outputs = f"; outputs: {', '.join(spec.outputs)}" if spec.outputs else ""
        ranges = [f"{output or spec.type} {_range_text(bounds)}" for output, bounds in spec.bounds.items()]
        ranged = f"; ranges: {', '.join(ranges)}" if ranges else ""
        lines.append(f"- {spec.type}: {spec.title} (params: {params or 'none'}{outputs}{ranged})")
    return "\n".join(lines)


def _range_text(bounds: Bounds) -> str:
    low, high = bounds
    if high is None:
        return f">= {low:g}"
    return f"{low:g}..{high:g}" if low is not None else f"<= {high:g}"
