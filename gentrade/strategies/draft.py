"""``StrategyDraft``: the one model of a strategy draft (DESIGN.md §6), shared by the API and the agent.

It is a pydantic model so that LangChain's structured output can use it as is. Validation is
complete here: field types and ranges, the indicator catalogue, and that every operand refers
to something the draft defines. An error names the field path and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gentrade.strategies.catalogue import CATALOGUE, PRICE_COLUMNS, IndicatorSpec

TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "1d")
OPERATORS = ("<", "<=", ">", ">=", "crosses_above", "crosses_below")
NAME_PATTERN = r"^[A-Z][A-Za-z0-9]{2,63}$"
RESERVED_NAMES = frozenset({"True", "False", "None", "IStrategy", "DataFrame"})
MAX_CONDITIONS = 50
MAX_DEPTH = 5

IndicatorId = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Lower-case id; conditions refer to it."),
]
Pair = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,15}$", examples=["BTC/USDT"])]
Number = Annotated[float, Field(allow_inf_nan=False)]
Operand = Annotated[
    Union[Number, str],  # noqa: UP007 - pydantic's smart union keeps 30 a number and "rsi" a string
    Field(description="A number, an indicator id, 'id.output' for multi-output indicators, or a price column."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _indicator_model(spec: IndicatorSpec) -> type[BaseModel]:
    return create_model(
        f"{spec.type.title()}Indicator",
        __base__=_Strict,
        __doc__=spec.title + (f" Outputs: {', '.join(spec.outputs)}." if spec.outputs else ""),
        id=(IndicatorId, ...),
        type=(Literal[spec.type], ...),
        params=(spec.params, Field(default_factory=spec.params)),
    )


INDICATOR_MODELS = tuple(_indicator_model(spec) for spec in CATALOGUE.values())
Indicator = Annotated[Union[INDICATOR_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


class Condition(_Strict):
    left: Operand
    op: Literal[OPERATORS]  # type: ignore[valid-type]
    right: Operand


class AllGroup(_Strict):
    all: list[Node] = Field(min_length=1, max_length=MAX_CONDITIONS)


class AnyGroup(_Strict):
    any: list[Node] = Field(min_length=1, max_length=MAX_CONDITIONS)


def _node_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "all-group" if "all" in value else "any-group" if "any" in value else "condition"
    return {AllGroup: "all-group", AnyGroup: "any-group"}.get(type(value), "condition")


NODE_TAGS = ("condition", "all-group", "any-group")
Node = Annotated[
    Union[  # noqa: UP007
        Annotated[Condition, Tag(NODE_TAGS[0])],
        Annotated[AllGroup, Tag(NODE_TAGS[1])],
        Annotated[AnyGroup, Tag(NODE_TAGS[2])],
    ],
    Discriminator(_node_kind),
]
AllGroup.model_rebuild()
AnyGroup.model_rebuild()

RoiMinutes = Annotated[str, Field(pattern=r"^[0-9]{1,6}$")]  # not \d: that admits any Unicode digit
RoiRatio = Annotated[float, Field(ge=-1.0, le=100.0, allow_inf_nan=False)]


def _problem(location: str, message: str) -> PydanticCustomError:
    """A draft error located by path, e.g. ``entry_conditions.all.1.right``."""
    # Quoted input may hold lone surrogates (valid JSON escapes) that pydantic cannot encode to report.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return PydanticCustomError("draft", "{location}: {message}", {"location": location, "message": message})


class StrategyDraft(_Strict):
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
    startup_candle_count: int | None = Field(default=None, ge=0, le=5000)

    @model_validator(mode="after")
    def _consistent(self) -> StrategyDraft:
        for location, message in self._problems():
            raise _problem(location, message)
        return self

    def _problems(self) -> Iterator[tuple[str, str]]:
        if self.name in RESERVED_NAMES:
            yield "name", f"{self.name} is reserved"
        quotes = {pair.split("/")[1] for pair in self.pairs}
        if len(quotes) > 1:
            yield "pairs", f"all pairs must share one quote currency, got {', '.join(sorted(quotes))}"
        if len(set(self.pairs)) != len(self.pairs):
            yield "pairs", "pairs must be unique"
        yield from self._indicator_problems()
        yield from self._short_problems()
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
        minutes: dict[int, str] = {}
        for key in self.minimal_roi:
            if int(key) in minutes:
                yield f"minimal_roi.{key}", f"'{key}' and '{minutes[int(key)]}' are the same number of minutes"
            minutes[int(key)] = key
        positive, offset = self.trailing_stop_positive, self.trailing_stop_positive_offset
        if positive and offset and offset <= positive:
            yield "trailing_stop_positive_offset", "must be greater than trailing_stop_positive"

    def _indicator_problems(self) -> Iterator[tuple[str, str]]:
        columns: dict[str, str] = {column: "a price column" for column in (*PRICE_COLUMNS, "date")}
        for index, indicator in enumerate(self.indicators):
            location = f"indicators.{index}.id"
            if indicator.id in columns:
                yield location, f"'{indicator.id}' is already {columns[indicator.id]}"
                continue
            if indicator.id.startswith(("enter_", "exit_")):
                yield location, "ids may not start with enter_ or exit_ (Freqtrade's signal columns)"
            for column in self.columns_of(indicator):
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
        if not isinstance(condition.left, str) and not isinstance(condition.right, str):
            yield location, "compare at least one series (indicator or price), not two numbers"
        for side in ("left", "right"):
            operand = getattr(condition, side)
            if isinstance(operand, str):
                problem = self._reference_problem(operand)
                if problem:
                    yield f"{location}.{side}", problem

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
    def columns_of(indicator: Any) -> list[str]:
        """The dataframe columns an indicator writes: its id, or ``id_output`` per output."""
        spec = CATALOGUE[indicator.type]
        return [f"{indicator.id}_{output}" for output in spec.outputs] or [indicator.id]

    def condition_groups(self) -> Iterator[tuple[str, Node]]:
        for field in ("entry_conditions", "exit_conditions", "entry_short_conditions", "exit_short_conditions"):
            node = getattr(self, field)
            if node is not None:
                yield field, node

    @property
    def derived_startup_candles(self) -> int:
        """Candles of history the indicators need (plus one, for crossings), before the first signal."""
        windows = [CATALOGUE[i.type].lookback(i.params) for i in self.indicators]
        return max(windows, default=0) + 1

    @property
    def effective_startup_candles(self) -> int:
        return max(self.startup_candle_count or 0, self.derived_startup_candles)

    @property
    def stake_currency(self) -> str:
        return self.pairs[0].split("/")[1]


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
        if part in ("float", "str") and index > 0 and loc[index - 1] in ("left", "right"):  # Operand's members
            continue
        parts.append(str(part))
    return parts


def parse_draft(data: Any) -> StrategyDraft:
    """Validate untrusted input into a draft, or raise :class:`DraftInvalid` naming each field."""
    try:
        return StrategyDraft.model_validate(data)
    except ValidationError as exc:
        raise DraftInvalid(error_paths(exc)) from None
