"""The condition reader: a clause's tokens as rule nodes ("RSI below 30" -> ``{"left": "rsi", "op": "<",
"right": 30.0}``).

Why: this is where words become rules: which side a comparison is on, which output of a multi-output indicator
is meant, what "it" and "the signal line" refer to, what a crossing, a touch, a slope or a surge means.
:class:`ConditionReader` keeps what earlier clauses named; :mod:`.reader` drives it over a whole message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gentrade.agents.offline.defaults import DEFAULT_LEVELS
from gentrade.agents.offline.lexer import Token
from gentrade.agents.offline.message import Found, Reading
from gentrade.agents.offline.registry import Registry, default_output, default_output_name
from gentrade.agents.offline.rule_trees import Node, Operand, is_number, scaled
from gentrade.agents.offline.text import fmt_number
from gentrade.agents.offline.vocabulary import AVERAGES, CHANNELS, LINE_PAIRS, Mention, series
from gentrade.strategies.catalogue import CATALOGUE, OSCILLATOR_MIDDLES, PRICE_COLUMNS
from gentrade.strategies.trees import conditions

# "sell above 70" refers back to one of these
CARRIED_SUBJECTS = ("rsi", "mfi", "stoch", "cci", "willr", "stochrsi", "cmo", "roc", "mom")
# A comparison read the other way round ("30 above RSI": RSI below 30)
MIRRORED_OPS = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _is_number_token(token: Token | None) -> bool:
    return token is not None and token.kind == "num"


class ConditionReader:
    """Turns a clause's tokens into rule nodes, resolving indicator mentions through a registry; remembers what
    earlier clauses named ("it", a bare level)."""

    def __init__(self, registry: Registry, previous: dict[str, Any] | None) -> None:
        self.registry = registry
        self.previous = previous
        self.subject: str | None = None  # the last oscillator named: what a bare level refers to
        self.last_left: str | None = None  # the last rule's subject: what "it" refers to
        self.notes = registry.notes

    def _surge(self, reading: Reading, tokens: list[Token], i: int, role: str, offset: int) -> int:
        """'a volume surge (3x average)': an entry filter, volume above a multiple of its average; returns the
        index of the next token to read."""
        tok = tokens[i]
        factor, j, end = tok.value, i + 1, tok.end
        if j < len(tokens) and tokens[j].kind == "times":
            factor, end, j = tokens[j].value, tokens[j].end, j + 1
        elif factor != 1.0:
            self.note(f"No size named for the volume surge: volume above {fmt_number(factor)}x its average.")
        period = 0
        if j < len(tokens) and tokens[j].kind == "avg":
            period, end, j = int(tokens[j].value), tokens[j].end, j + 1
        node = {"left": "volume", "op": ">", "right": series(self._volume_average(period), factor)}
        reading.found.append(Found(role, node, offset + tok.start, offset + end, True))
        return j

    def _volume_average(self, period: int) -> str:
        return self.registry.resolve(Mention("volume_sma", (("period", period),) if period else ()))

    def _twist(self, reading: Reading, tok: Token, role: str, direction: str | None, offset: int) -> None:
        """'a Kumo twist': Ichimoku's span A crossing span B (upwards: bullish)."""
        ident = self.registry.resolve(Mention("ichimoku"))
        node = {"left": f"{ident}.span_a", "op": _cross_direction(direction, role), "right": f"{ident}.span_b"}
        reading.found.append(Found(role, node, offset + tok.start, offset + tok.end))

    def _complete(self, condition: Node) -> Node:
        """Name the output of any multi-output indicator still left bare ("stoch" -> "stoch.k")."""
        out = dict(condition)
        for side in ("left", "right"):
            operand = out[side]
            if isinstance(operand, str) and "." not in operand:
                out[side] = default_output(operand, self.registry)
        return out

    def _expand_bare(self, tokens: list[Token]) -> list[Token]:
        """'RSI 25': a period below 20, a level above 50; in between, a level unless a comparison is written."""
        compares = any(t.kind == "op" and t.op != "touch" for t in tokens)
        out: list[Token] = []
        for tok in tokens:
            m = tok.mention
            if tok.kind != "ind" or m is None or m.bare is None:
                out.append(tok)
                continue
            if m.bare < 20 or (m.bare <= 50 and compares):
                out.append(replace(tok, mention=replace(m, params=(("period", m.bare),), bare=None)))
            else:
                out.append(replace(tok, mention=replace(m, bare=None)))
                out.append(Token("num", tok.end, tok.end, value=float(m.bare)))
        return out

    def _carry(self, operand: str | None) -> None:
        if operand and operand not in PRICE_COLUMNS:
            self.last_left = operand
        if operand and self.registry.type_of(operand) in CARRIED_SUBJECTS:
            self.subject = operand

    def subject_for(self, role: str) -> str | None:
        """What a bare level refers to: the last oscillator named, else the previous draft's."""
        if self.subject:
            return self.subject
        if self.previous is not None:
            return _previous_subject(self.previous, role, self.registry)
        return None

    def _operand(self, tok: Token, other: str | None = None) -> tuple[Operand, str | None] | None:
        """A token as a condition operand, with its indicator type (None for prices and numbers)."""
        if tok.kind == "num":
            return tok.value, None
        if tok.kind == "price":
            return tok.name, None
        if tok.kind == "ind" and tok.mention:
            ident = self.registry.resolve(tok.mention)
            output = tok.mention.output
            spec = CATALOGUE[tok.mention.type]
            if spec.outputs and output is None:
                return ident, tok.mention.type  # resolved against the other side
            return (f"{ident}.{output}" if output else ident), tok.mention.type
        if tok.kind == "ref":
            return self._reference(tok.name, other)
        if tok.kind == "avg":  # "its 20-candle average": volume's for volume, else the price's
            period = int(tok.value)
            if other == "volume":
                return self._volume_average(period), "volume_sma"
            note = None if period else "'The average' read as SMA(20)."
            return self.registry.resolve(Mention("sma", (("period", period),) if period else (), note=note)), "sma"
        return None

    def _reference(self, name: str, other: str | None) -> tuple[Operand, str | None] | None:
        if name == "it":
            subject = self.last_left or self.subject_for("entry")
            return (subject, self.registry.type_of(subject)) if subject else None
        owner_type = "stoch" if name in ("k", "d") else "macd"
        if owner_type == "stoch" and self.registry.of_type("stochrsi") and not self.registry.of_type("stoch"):
            owner_type = "stochrsi"  # "%K crosses %D" after "Stoch RSI"
        if name == "signal" and other and self.registry.type_of(other) in ("stoch", "stochrsi"):
            owner_type = self.registry.type_of(other) or "stoch"
        owners = self.registry.of_type(owner_type)
        ident = owners[0] if owners else self.registry.resolve(Mention(owner_type))
        output = {"signal": "signal" if owner_type == "macd" else "d", "hist": "hist", "k": "k", "d": "d"}[name]
        return f"{ident}.{output}", owner_type

    def _condition(
        self,
        left: Token | None,
        op_tok: Token,
        right: Token | None,
        role: str,
        direction: str | None,
        pending: list[Token],
    ) -> tuple[Node, bool] | None:
        op = op_tok.op
        if op in ("rising", "falling"):
            return self._slope(left, op, right, pending)
        if op in ("oversold", "overbought", "positive", "negative"):
            return self._level_word(left, op, role, right, pending)
        if _is_number_token(left):
            if _is_number_token(right):
                return None
            if right is not None:  # "30 above RSI": the same as "RSI below 30"
                left, right, op = right, left, MIRRORED_OPS.get(op, op)
        if right is None:
            return self._one_sided(left, op, role, direction, pending)
        if right.kind == "cloud":
            return self._cloud(left, op, role)
        left_operand = self._left_operand(left, right, role)
        if left_operand is None:
            return None
        return self._comparison(left_operand, op, right, role, direction, op_tok.times)

    def _left_operand(self, left: Token | None, right: Token, role: str) -> tuple[Operand, str | None] | None:
        """The left side of a comparison: as written, the price for "it" that is no level's subject, or implied."""
        if left is None:
            return self._implied_left(right, role)
        if left.kind == "ref" and left.name == "it" and (right.kind != "num" or self.subject_for(role) is None):
            return ("close", None)  # "when it touches the upper band": the price
        return self._operand(left)

    def _implied_left(self, right: Token, role: str) -> tuple[Operand, str | None] | None:
        """No left side written: a bare level is the subject's (RSI(14) when none was named yet), an indicator or
        price is compared with the close; None for anything else."""
        if right.kind == "num":
            subject = self.subject_for(role)
            if subject is None:
                subject = self.registry.resolve(Mention("rsi"))
                self.note(f"A level of {fmt_number(right.value)} without an indicator: read as RSI(14).")
            return (subject, self.registry.type_of(subject))
        right_type = right.mention.type if right.kind == "ind" and right.mention else None
        if right.kind in ("ind", "price") and right_type not in CARRIED_SUBJECTS:
            return ("close", None)
        return None

    def _comparison(
        self,
        left_operand: tuple[Operand, str | None],
        op: str,
        right: Token,
        role: str,
        direction: str | None,
        times: float,
    ) -> tuple[Node, bool] | None:
        """The rule comparing ``left_operand`` with ``right``: which outputs are meant, which way a crossing or
        a touch goes; the flag marks an ADX rule read for the entry (``Found.forced_entry``)."""
        right_operand = self._operand(right, str(left_operand[0]))
        if right_operand is None:
            return None
        lhs, rhs = self._outputs(left_operand, right_operand, op, role)
        if op == "cross":
            op = _cross_direction(direction, role)
        elif op == "touch":
            op = self._touch(lhs, rhs, role)
        if not isinstance(lhs, str) and not isinstance(rhs, str):
            return None
        if isinstance(lhs, str):
            self._carry(lhs)
        forced = self.registry.type_of(lhs) == "adx" and role == "entry"
        return {"left": lhs, "op": op, "right": scaled(self._breakout(lhs, op, rhs), times)}, forced

    def _breakout(self, lhs: Operand, op: str, rhs: Operand) -> Operand:
        """A price beyond the Donchian band of its own candle never happens (the band holds that candle): a
        breakout is beyond the band one candle ago."""
        if not isinstance(rhs, str) or lhs not in PRICE_COLUMNS or self.registry.type_of(rhs) != "donchian":
            return rhs
        output = rhs.partition(".")[2]
        never = {("upper", ">"), ("upper", "crosses_above"), ("lower", "<"), ("lower", "crosses_below")}
        return series(rhs, ago=1) if (output, op) in never else rhs

    def _slope(
        self, left: Token | None, op: str, right: Token | None, pending: list[Token]
    ) -> tuple[Node, bool] | None:
        """'the 4h EMA 50 is rising': above its value one candle (of its own timeframe) before; 'rising volume'
        too. A Supertrend that turns up flips: its direction crosses 0."""
        if left is None and right is not None and right.kind in ("ind", "price"):
            left = right
        elif right is not None:
            pending.append(right)
        operand = self._operand(left) if left is not None else None
        if operand is None or not isinstance(operand[0], str):
            return None
        lhs, kind = operand
        if kind == "supertrend":
            flip = "crosses_above" if op == "rising" else "crosses_below"
            return {"left": f"{lhs.partition('.')[0]}.direction", "op": flip, "right": 0.0}, False
        if kind and "." not in lhs and CATALOGUE[kind].outputs:
            lhs = f"{lhs}.{default_output_name(kind)}"
        self._carry(lhs)
        return {"left": lhs, "op": ">" if op == "rising" else "<", "right": series(lhs, ago=1)}, False

    def _outputs(
        self, left: tuple[Operand, str | None], right: tuple[Operand, str | None], op: str, role: str
    ) -> tuple[Operand, Operand]:
        """Pick the output of multi-output indicators left unnamed ("MACD", "Bollinger band")."""
        lhs, rhs = left[0], right[0]
        if isinstance(lhs, str) and "." not in lhs and left[1] and CATALOGUE[left[1]].outputs:
            line = left[1] == "supertrend" and isinstance(rhs, str)  # the line against a price, the direction a level
            lhs = f"{lhs}.{'line' if line else default_output_name(left[1])}"
        if isinstance(rhs, str) and "." not in rhs and right[1] and CATALOGUE[right[1]].outputs:
            if right[1] in CHANNELS:
                wants_lower = op in ("<", "<=", "crosses_below") or (op in ("touch", "cross") and role == "entry")
                rhs = f"{rhs}.{'lower' if wants_lower else 'upper'}"
            elif right[1] == "macd" and isinstance(lhs, str) and lhs.startswith(f"{rhs}."):
                rhs = f"{rhs}.signal"
            elif right[1] in LINE_PAIRS and isinstance(lhs, str) and lhs.startswith(f"{rhs}."):
                first, second = LINE_PAIRS[right[1]]  # "Aroon up crosses above Aroon": the other line
                rhs = f"{rhs}.{first if lhs.endswith(f'.{second}') else second}"
            else:
                rhs = f"{rhs}.{'line' if right[1] == 'supertrend' else default_output_name(right[1])}"
        return lhs, rhs

    def _touch(self, lhs: Operand, rhs: Operand, role: str) -> str:
        """'touches the upper band', 'hits 25': the side follows the level or the band."""
        if isinstance(rhs, str) and rhs.endswith(".upper"):
            return ">="
        if isinstance(rhs, str) and rhs.endswith(".lower"):
            return "<="
        if isinstance(rhs, int | float):
            middle = OSCILLATOR_MIDDLES.get(self.registry.type_of(lhs) or "")
            if middle is not None:
                return "<=" if rhs < middle else ">="
        return "<=" if role == "entry" else ">="

    def _one_sided(
        self, left: Token | None, op: str, role: str, direction: str | None, pending: list[Token]
    ) -> tuple[Node, bool] | None:
        """'MACD cross', 'EMA 9 and EMA 21 cross', 'crosses the 50 EMA': fill the missing side."""
        if left is None or op != "cross" or left.kind != "ind" or left.mention is None:
            return None
        op = _cross_direction(direction, role)
        kind = left.mention.type
        if kind in AVERAGES:
            others = [t for t in pending if t.kind == "ind" and t.mention and t.mention.type in AVERAGES]
            if others:
                other = others[-1]
                pending.remove(other)
                pair = sorted(
                    (self.registry.resolve(t.mention) for t in (other, left) if t.mention),
                    key=lambda i: self.registry.items[i]["params"]["period"],
                )
                return {"left": pair[0], "op": op, "right": pair[-1]}, False
            return {"left": "close", "op": op, "right": self.registry.resolve(left.mention)}, False
        ident = self.registry.resolve(left.mention)
        if kind in LINE_PAIRS:
            a, b = LINE_PAIRS[kind]
            if left.mention.output == b:
                a, b = b, a
            return {"left": f"{ident}.{a}", "op": op, "right": f"{ident}.{b}"}, False
        if kind in ("vwap", "sar"):
            return {"left": "close", "op": op, "right": ident}, False
        if kind == "supertrend":
            return {"left": f"{ident}.direction", "op": op, "right": 0.0}, False
        return None

    def _level_word(
        self, left: Token | None, op: str, role: str, right: Token | None, pending: list[Token]
    ) -> tuple[Node, bool] | None:
        """'RSI oversold', 'MACD histogram turns positive'."""
        if right is not None:
            pending.append(right)
        operand = self._operand(left) if left is not None else None
        if operand is None:
            subject = self.subject_for(role) or self.registry.resolve(Mention("rsi"))
            operand = (subject, self.registry.type_of(subject))
        lhs = operand[0]
        kind = operand[1] or self.registry.type_of(lhs)
        if isinstance(lhs, str) and "." not in lhs and kind and CATALOGUE[kind].outputs:
            lhs = f"{lhs}.{default_output_name(kind)}"
        if not isinstance(lhs, str):
            return None
        self._carry(lhs)
        if op in ("positive", "negative"):
            return {"left": lhs, "op": ">" if op == "positive" else "<", "right": 0.0}, False
        low, high = DEFAULT_LEVELS.get(kind or "", (30.0, 70.0))
        self._carry(lhs)
        return (
            {"left": lhs, "op": "<", "right": low} if op == "oversold" else {"left": lhs, "op": ">", "right": high}
        ), False

    def _cloud(self, left: Token | None, op: str, role: str) -> tuple[Node, bool] | None:
        """'above the cloud': the close above both spans of the Ichimoku cloud."""
        operand = self._operand(left) if left is not None else ("close", None)
        if operand is None or not isinstance(operand[0], str):
            return None
        if operand[1] not in (None, *AVERAGES, "vwap", "bbands"):
            operand = ("close", None)  # only prices and price-like lines sit above or below the cloud
        ident = self.registry.resolve(Mention("ichimoku"))
        if op in ("cross", "touch"):
            op = ">" if _cross_direction(None, role) == "crosses_above" else "<"
        op = {"crosses_above": ">", "crosses_below": "<"}.get(op, op)
        lhs = operand[0]
        return {
            "all": [
                {"left": lhs, "op": op, "right": f"{ident}.span_a"},
                {"left": lhs, "op": op, "right": f"{ident}.span_b"},
            ]
        }, False

    def _golden(self, reading: Reading, tok: Token, role: str, offset: int) -> None:
        fast = self.registry.resolve(Mention("sma", (("period", 50),)))
        slow = self.registry.resolve(Mention("sma", (("period", 200),)))
        node = {"left": fast, "op": tok.op, "right": slow}
        reading.found.append(Found(role, node, offset + tok.start, offset + tok.end))

    def note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)


def _cross_direction(direction: str | None, role: str) -> str:
    if direction == "bullish":
        return "crosses_above"
    if direction == "bearish":
        return "crosses_below"
    return "crosses_below" if role == "exit" else "crosses_above"


def _previous_subject(previous: dict[str, Any], role: str, registry: Registry) -> str | None:
    """The previous draft's first indicator compared with a level, preferring the given role."""
    fields = ["entry_conditions", "exit_conditions"]
    if role == "exit":
        fields.reverse()
    for name in fields:
        for condition in conditions(previous.get(name)):
            left = condition["left"]
            if isinstance(left, str) and registry.type_of(left) and is_number(condition["right"]):
                return left
    for ident, item in registry.items.items():
        if item["type"] in CARRIED_SUBJECTS:
            return default_output(ident, registry)
    return None
