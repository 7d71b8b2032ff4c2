"""``StrategyDraft``: the one model of a strategy draft (DESIGN.md §6), shared by the API and the agent.

It is a pydantic model so that LangChain's structured output can use it as is. Validation is
complete here: field types and ranges, the indicator catalogue, and that every operand refers
to something the draft defines. An error names the field path and the reason. The parts a draft is
made of (indicators, series, conditions, groups) are :mod:`gentrade.strategies.draft_types`; the rules
across its fields stay here, beside the fields they read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from gentrade.strategies.catalogue import CATALOGUE, PRICE_COLUMNS
from gentrade.strategies.draft_types import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    NODE_TAGS,
    AllGroup,
    Condition,
    Indicator,
    Node,
    Series,
    as_series,
)
from gentrade.strategies.never_trades import never_breaks_out, never_changes
from gentrade.timeframes import TIMEFRAME_MINUTES, TIMEFRAMES

NAME_PATTERN = r"^[A-Z][A-Za-z0-9]{2,63}$"
RESERVED_NAMES = frozenset({"True", "False", "None", "IStrategy", "DataFrame"})
MAX_INFORMATIVE_TIMEFRAMES = 2
MAX_STARTUP_CANDLES = 4999  # Freqtrade loads at most 5 x Binance's 1000 candles per pair, one still open

Pair = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,15}$", examples=["BTC/USDT"])]

RoiMinutes = Annotated[str, Field(pattern=r"^[0-9]{1,6}$")]  # not \d: that admits any Unicode digit
RoiRatio = Annotated[float, Field(ge=-1.0, le=100.0, allow_inf_nan=False)]


def _problem(location: str, message: str) -> PydanticCustomError:
    """A draft error located by path, e.g. ``entry_conditions.all.1.right``."""
    # Quoted input may hold lone surrogates (valid JSON escapes) that pydantic cannot encode to report.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return PydanticCustomError("draft", "{location}: {message}", {"location": location, "message": message})


class StrategyDraft(BaseModel):
    """A trading strategy as structured data. Every string in it is data, never code."""

    model_config = ConfigDict(extra="forbid", title="StrategyDraft")

    name: str = Field(pattern=NAME_PATTERN, description="Class and file name, e.g. RsiDipBuyer.")
    description: str = Field(default="", max_length=2000)
    timeframe: Literal[TIMEFRAMES]  # type: ignore[valid-type]
    pairs: list[Pair] = Field(min_length=1, max_length=20)
    can_short: bool = False
    indicators: list[Indicator] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    entry_conditions: Node
    exit_conditions: Node | None = None
    entry_short_conditions: Node | None = None
    exit_short_conditions: Node | None = None
    minimal_roi: dict[RoiMinutes, RoiRatio] = Field(default_factory=lambda: {"0": 0.10}, max_length=20)
    stoploss: float = Field(ge=-0.99, le=-0.001, allow_inf_nan=False, description="E.g. -0.05 for a 5% stop.")
    trailing_stop: bool = False
    trailing_stop_positive: float | None = Field(default=None, gt=0, lt=1)
    trailing_stop_positive_offset: float = Field(default=0.0, ge=0, lt=1)
    trailing_only_offset_is_reached: bool = False
    startup_candle_count: int | None = Field(default=None, ge=0, le=MAX_STARTUP_CANDLES)

    @model_validator(mode="after")
    def _consistent(self) -> StrategyDraft:
        for location, message in self._problems():
            raise _problem(location, message)
        return self

    def _problems(self) -> Iterator[tuple[str, str]]:
        """Every rule across fields, in the order a trader reads the draft; the first problem is the error."""
        if self.name in RESERVED_NAMES:
            yield "name", f"{self.name} is reserved"
        yield from self._pair_problems()
        yield from self._timeframe_problems()
        yield from self._indicator_problems()
        yield from self._short_problems()
        yield from self._rule_problems()
        yield from self._roi_problems()
        yield from self._history_problems()
        positive, offset = self.trailing_stop_positive, self.trailing_stop_positive_offset
        if positive and offset and offset <= positive:
            yield "trailing_stop_positive_offset", "must be greater than trailing_stop_positive"

    def _pair_problems(self) -> Iterator[tuple[str, str]]:
        quotes = {pair.split("/")[1] for pair in self.pairs}
        if len(quotes) > 1:
            yield "pairs", f"all pairs must share one quote currency, got {', '.join(sorted(quotes))}"
        if len(set(self.pairs)) != len(self.pairs):
            yield "pairs", "pairs must be unique"

    def _rule_problems(self) -> Iterator[tuple[str, str]]:
        total = 0
        for field, node in self.condition_groups():
            for location, condition, depth in _walk(node, field, 1):
                total += 1
                if condition is None and depth > MAX_DEPTH:
                    yield location, f"groups nest deeper than {MAX_DEPTH} levels"
                    return
                if condition is not None:
                    yield from self._condition_problems(location, condition)
        if total > MAX_CONDITIONS:
            yield "entry_conditions", f"at most {MAX_CONDITIONS} conditions and groups in all"

    def _roi_problems(self) -> Iterator[tuple[str, str]]:
        minutes: dict[int, str] = {}
        for key in self.minimal_roi:
            if int(key) in minutes:
                yield f"minimal_roi.{key}", f"'{key}' and '{minutes[int(key)]}' are the same number of minutes"
            minutes[int(key)] = key

    def _history_problems(self) -> Iterator[tuple[str, str]]:
        needed = self.effective_startup_candles
        if needed > MAX_STARTUP_CANDLES:
            yield (
                "indicators",
                (
                    f"needs {needed} {self.timeframe} candles of history before its first signal, more than "
                    f"Freqtrade loads ({MAX_STARTUP_CANDLES}): use shorter periods or a lower higher timeframe"
                ),
            )

    def _timeframe_problems(self) -> Iterator[tuple[str, str]]:
        for index, indicator in enumerate(self.indicators):
            if indicator.timeframe == self.timeframe:
                indicator.timeframe = None  # its own timeframe, said explicitly: one spelling for one strategy
            elif indicator.timeframe and TIMEFRAME_MINUTES[indicator.timeframe] < TIMEFRAME_MINUTES[self.timeframe]:
                yield (
                    f"indicators.{index}.timeframe",
                    f"{indicator.timeframe} is shorter than the strategy's {self.timeframe}; only higher timeframes "
                    "can be used (or run the strategy on the shorter one)",
                )
        if len(self.informative_timeframes) > MAX_INFORMATIVE_TIMEFRAMES:
            yield "indicators", f"at most {MAX_INFORMATIVE_TIMEFRAMES} higher timeframes"

    def _indicator_problems(self) -> Iterator[tuple[str, str]]:
        columns: dict[str, str] = {column: "a price column" for column in (*PRICE_COLUMNS, "date")}
        for timeframe in self.informative_timeframes:
            columns |= {f"{column}_{timeframe}": f"a {timeframe} price column" for column in (*PRICE_COLUMNS, "date")}
        for index, indicator in enumerate(self.indicators):
            location = f"indicators.{index}.id"
            if indicator.id in columns:
                yield location, f"'{indicator.id}' is already {columns[indicator.id]}"
                continue
            if indicator.id.startswith(("enter_", "exit_")):
                yield location, "ids may not start with enter_ or exit_ (Freqtrade's signal columns)"
            for column in self.columns_of(indicator, with_lookbacks=True):
                if column in columns:
                    yield location, f"its column '{column}' clashes with {columns[column]}"
                columns[column] = f"a column of indicator '{indicator.id}'"

    def _short_problems(self) -> Iterator[tuple[str, str]]:
        if self.can_short and self.entry_short_conditions is None:
            yield "entry_short_conditions", "required when can_short is true"
        if not self.can_short:
            for field in ("entry_short_conditions", "exit_short_conditions"):
                if getattr(self, field) is not None:
                    yield field, "set can_short to true to trade short"

    def _condition_problems(self, location: str, condition: Condition) -> Iterator[tuple[str, str]]:
        left, right = as_series(condition.left), as_series(condition.right)
        if left is None and right is None:
            yield location, "compare at least one series (indicator or price), not two numbers"
        for side, series in (("left", left), ("right", right)):
            if series is not None:
                problem = self._reference_problem(series.ref)
                if problem:
                    yield (
                        f"{location}.{side}" + (".ref" if isinstance(getattr(condition, side), Series) else ""),
                        problem,
                    )
                    return
                if series.times == 0:
                    yield f"{location}.{side}.times", "must not be 0 (that is the number 0)"
                    return
        problem = never_changes(self, condition, left, right) or never_breaks_out(self, condition, left, right)
        if problem:
            yield location, problem

    def _reference_problem(self, operand: str) -> str | None:
        if operand in PRICE_COLUMNS:
            return None
        indicator_id, dot, output = operand.partition(".")
        indicator = self.indicator(indicator_id)
        if indicator is None:
            known = ", ".join([i.id for i in self.indicators] + list(PRICE_COLUMNS))
            return f"'{operand:.40}' is not a defined indicator id or price column (known: {known})"
        spec = CATALOGUE[indicator.type]
        if spec.multi_output and not output:
            return f"'{indicator_id}' has several outputs; use one of " + ", ".join(
                f"{indicator_id}.{name}" for name in spec.outputs
            )
        if dot and output not in spec.outputs:
            names = ", ".join(spec.outputs) or "none (use the id alone)"
            return f"'{output:.40}' is not an output of {indicator.type}; outputs: {names}"
        return None

    def indicator(self, indicator_id: str) -> Any | None:
        return next((i for i in self.indicators if i.id == indicator_id), None)

    @staticmethod
    def own_columns(indicator: Any) -> list[str]:
        """The columns an indicator writes in its own timeframe's dataframe: its id, or ``id_output`` per output."""
        spec = CATALOGUE[indicator.type]
        return [f"{indicator.id}_{output}" for output in spec.outputs] or [indicator.id]

    def columns_of(self, indicator: Any, with_lookbacks: bool = False) -> list[str]:
        """The strategy dataframe's columns an indicator gives: its own, suffixed ``_<timeframe>`` when it is on
        a higher one (Freqtrade's informative merge), and with ``with_lookbacks`` those of its looked-back values."""
        columns = self.own_columns(indicator)
        if indicator.timeframe:
            lookbacks = self.informative_lookbacks() if with_lookbacks else {}
            columns += [lookback_column(column, ago) for column in columns for ago in sorted(lookbacks.get(column, ()))]
            columns = [f"{column}_{indicator.timeframe}" for column in columns]
        return columns

    @staticmethod
    def own_column(series: Series) -> str:
        """The column ``series.ref`` names in its own timeframe's dataframe."""
        ident, _, output = series.ref.partition(".")
        return f"{ident}_{output}" if output else ident

    def column_of(self, series: Series) -> str:
        """The strategy dataframe's column holding ``series.ref`` (looked back already, for a higher timeframe)."""
        name = self.own_column(series)
        timeframe = self.timeframe_of(series)
        if timeframe is None:
            return name
        return f"{lookback_column(name, series.ago) if series.ago else name}_{timeframe}"

    def timeframe_of(self, series: Series) -> str | None:
        """The higher timeframe ``series`` is on; None for the strategy's own."""
        indicator = self.indicator(series.ref.partition(".")[0])
        return indicator.timeframe if indicator is not None else None

    def series(self) -> Iterator[Series]:
        """Every series the conditions use."""
        for field, node in self.condition_groups():
            for _, condition, _ in _walk(node, field, 1):
                if condition is not None:
                    for operand in (condition.left, condition.right):
                        series = as_series(operand)
                        if series is not None:
                            yield series

    def informative_lookbacks(self) -> dict[str, set[int]]:
        """Per column of a higher-timeframe indicator, the candles back conditions look (computed in its own frame)."""
        lookbacks: dict[str, set[int]] = {}
        for series in self.series():
            if series.ago and self.timeframe_of(series):
                lookbacks.setdefault(self.own_column(series), set()).add(series.ago)
        return lookbacks

    @property
    def informative_timeframes(self) -> list[str]:
        """The higher timeframes the indicators use, shortest first."""
        used = {i.timeframe for i in self.indicators if i.timeframe and i.timeframe != self.timeframe}
        return sorted(used, key=TIMEFRAME_MINUTES.__getitem__)

    def condition_groups(self) -> Iterator[tuple[str, Node]]:
        for field in ("entry_conditions", "exit_conditions", "entry_short_conditions", "exit_short_conditions"):
            node = getattr(self, field)
            if node is not None:
                yield field, node

    @property
    def derived_startup_candles(self) -> int:
        """Candles of history (of the strategy's timeframe) the indicators and look-backs need before the first
        signal, plus one for crossings. A higher timeframe's candles count as that many of the strategy's."""
        ago: dict[str, int] = {}
        for series in self.series():
            key = series.ref.partition(".")[0]
            ago[key] = max(ago.get(key, 0), series.ago)
        windows = [ago.get(column, 0) for column in PRICE_COLUMNS]
        for indicator in self.indicators:
            ratio = TIMEFRAME_MINUTES[indicator.timeframe or self.timeframe] // TIMEFRAME_MINUTES[self.timeframe]
            windows.append((CATALOGUE[indicator.type].lookback(indicator.params) + ago.get(indicator.id, 0)) * ratio)
        return max(windows, default=0) + 1

    @property
    def effective_startup_candles(self) -> int:
        return max(self.startup_candle_count or 0, self.derived_startup_candles)

    @property
    def stake_currency(self) -> str:
        return self.pairs[0].split("/")[1]


def lookback_column(column: str, ago: int) -> str:
    """The column of ``column``'s value ``ago`` candles back, computed in a higher timeframe's own frame."""
    return f"{column}_ago{ago}"


def _walk(node: Any, location: str, depth: int) -> Iterator[tuple[str, Condition | None, int]]:
    """Every group and condition below ``node`` with its path; a group yields ``None``."""
    if isinstance(node, Condition):
        yield location, node, depth
        return
    key = "all" if isinstance(node, AllGroup) else "any"
    yield location, None, depth
    for index, child in enumerate(getattr(node, key)):
        yield from _walk(child, f"{location}.{key}.{index}", depth + 1)


class DraftInvalid(ValueError):
    """A draft failed validation; ``errors`` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{path}: {'; '.join(messages)}" for path, messages in errors.items()))
        self.errors = errors


def error_paths(exc: ValidationError) -> dict[str, list[str]]:
    """Pydantic errors as ``{"field.path": [reason, ...]}`` (our located errors keep their path)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        context = error.get("ctx") or {}
        if error["type"] == "draft":
            path, message = context["location"], context["message"]
        else:
            path = ".".join(_without_union_tags(error["loc"])) or "draft"
            message = error["msg"]
        errors.setdefault(path, []).append(message)
    return errors


def _without_union_tags(loc: tuple[Any, ...]) -> list[str]:
    """Drop the union tags pydantic puts in locations (``indicators.0.rsi.params`` -> ``indicators.0.params``)."""
    parts: list[str] = []
    for index, part in enumerate(loc):
        after_list_index = index > 0 and isinstance(loc[index - 1], int)
        if part in NODE_TAGS or (after_list_index and part in CATALOGUE and loc[index - 2] == "indicators"):
            continue
        if part in ("float", "str", "Series") and index > 0 and loc[index - 1] in ("left", "right"):  # Operand's
            continue
        parts.append(str(part))
    return parts


def parse_draft(data: Any) -> StrategyDraft:
    """Validate untrusted input into a draft, or raise :class:`DraftInvalid` naming each field."""
    try:
        return StrategyDraft.model_validate(data)
    except ValidationError as exc:
        raise DraftInvalid(error_paths(exc)) from None
