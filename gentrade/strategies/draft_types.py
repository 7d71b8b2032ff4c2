"""The parts a ``StrategyDraft`` is made of: its indicators (one model per catalogue entry) and its condition trees
(series, conditions, all/any groups), with the limits of each. The draft itself, and the rules across its
fields, are :mod:`gentrade.strategies.draft`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, create_model, field_validator

from gentrade.strategies.catalogue import CATALOGUE, IndicatorSpec
from gentrade.timeframes import TIMEFRAMES

OPERATORS = ("<", "<=", ">", ">=", "crosses_above", "crosses_below")
MAX_CONDITIONS = 50
MAX_DEPTH = 5
MAX_AGO = 500

IndicatorId = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="Lower-case id; conditions refer to it."),
]
Number = Annotated[float, Field(allow_inf_nan=False)]
SeriesName = Annotated[
    str, Field(description="An indicator id, 'id.output' for multi-output indicators, or a price column.")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Series(Strict):
    """A series scaled, offset or looked back on: ``times * ref[ago candles back] + plus``.

    Why: "volume above 3 times its average" is ``{"ref": "vol_avg", "times": 3}``, "close 2 % above the
    EMA" ``{"ref": "ema50", "times": 1.02}``, "the 4h EMA is rising" compares ``ema50`` with
    ``{"ref": "ema50", "ago": 1}``. Only past candles: there is no lookahead.
    """

    # Defaults are left out of dumps: a stored draft says only what it changes.
    ref: SeriesName
    times: float = Field(
        default=1.0, ge=-1000, le=1000, allow_inf_nan=False, exclude_if=lambda v: v == 1.0, description="Not 0."
    )
    plus: float = Field(
        default=0.0, ge=-1e12, le=1e12, allow_inf_nan=False, exclude_if=lambda v: v == 0.0, description="Added last."
    )
    ago: int = Field(
        default=0,
        ge=0,
        le=MAX_AGO,
        exclude_if=lambda v: v == 0,
        description="Candles back, of the series' own timeframe; 0 = the current one.",
    )

    @property
    def plain(self) -> bool:
        return self.times == 1.0 and self.plus == 0.0 and self.ago == 0


Operand = Annotated[
    Union[Number, str, Series],  # noqa: UP007 - pydantic's smart union keeps 30 a number and "rsi" a string
    Field(description="A number, a series name (indicator id, 'id.output', price column), or a Series object."),
]


def as_series(operand: Any) -> Series | None:
    """The operand as a :class:`Series` (a name is a plain one); None for a number."""
    if isinstance(operand, Series):
        return operand
    return Series(ref=operand) if isinstance(operand, str) else None


def _indicator_model(spec: IndicatorSpec) -> type[BaseModel]:
    return create_model(
        f"{spec.type.title()}Indicator",
        __base__=Strict,
        __doc__=spec.title + (f" Outputs: {', '.join(spec.outputs)}." if spec.outputs else ""),
        id=(IndicatorId, ...),
        type=(Literal[spec.type], ...),
        params=(spec.params, Field(default_factory=spec.params)),
        timeframe=(
            Literal[TIMEFRAMES] | None,  # type: ignore[valid-type]
            Field(
                default=None,
                exclude_if=lambda value: value is None,  # absent, not null: drafts without one dump as before
                description="A higher timeframe than the strategy's (e.g. 4h on 1h); absent: its own.",
            ),
        ),
    )


INDICATOR_MODELS = tuple(_indicator_model(spec) for spec in CATALOGUE.values())
Indicator = Annotated[Union[INDICATOR_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007


class Condition(Strict):
    left: Operand
    op: Literal[OPERATORS]  # type: ignore[valid-type]
    right: Operand

    @field_validator("left", "right")
    @classmethod
    def _plain_as_name(cls, operand: Any) -> Any:
        """``{"ref": "ema50"}`` is ``"ema50"``: one spelling for one operand, so a draft read back from its card
        (which shows both alike) is the same draft."""
        return operand.ref if isinstance(operand, Series) and operand.plain else operand


class AllGroup(Strict):
    all: list[Node] = Field(min_length=1, max_length=MAX_CONDITIONS)


class AnyGroup(Strict):
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
