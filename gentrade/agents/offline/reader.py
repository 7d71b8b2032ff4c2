"""Reading a whole message: the settings first, then clause by clause into rules, thresholds and leftovers.

Why: one entry point for "what does this message say", shared by fresh drafts, revisions and the router. It
orders the work (settings before rules, higher timeframes before clauses) and leaves building the draft to
:mod:`.fresh` and :mod:`.revising`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gentrade.agents.offline.conditions import CARRIED_SUBJECTS, ConditionReader
from gentrade.agents.offline.defaults import DEFAULT_TIMEFRAME
from gentrade.agents.offline.lexer import SERIES_KINDS, Token, lex_tokens
from gentrade.agents.offline.message import (
    FILTER_WORDS,
    ROLE,
    TREND_FILTER,
    Found,
    Reading,
    Threshold,
    clauses,
    take_changes,
    take_name,
    take_qualifiers,
    take_removals,
    take_roi,
    take_stop,
    take_timeframe,
)
from gentrade.agents.offline.pairs import take_pairs
from gentrade.agents.offline.registry import default_output
from gentrade.agents.offline.rule_trees import is_filter, map_conditions
from gentrade.agents.offline.text import normalize
from gentrade.agents.offline.timeframes import supported_timeframe
from gentrade.agents.offline.vocabulary import AVERAGES, Mention, unsupported
from gentrade.strategies.card import LABELS
from gentrade.timeframes import TIMEFRAME_MINUTES


class Reader(ConditionReader):
    """Turns one message into a :class:`Reading`, resolving indicator mentions through a registry."""

    def read(self, raw: str) -> Reading:
        reading = Reading()
        reading.name, raw = take_name(raw)
        text = normalize(raw)
        reading.unsupported = unsupported(text)
        if self.previous is not None:
            text = take_changes(reading, text)
        text = take_stop(reading, text)
        text = take_roi(reading, text)
        text, qualified, every = take_qualifiers(text)
        text = take_timeframe(reading, text)
        self._settle_qualifiers(reading, qualified, every)
        pair_text = text
        text = take_pairs(reading, text)
        reading.text = pair_text
        if self.previous is not None:
            text = take_removals(reading, text)
        role = "entry"
        for written, start, end, _ in clauses(text):
            role = written or role
            segment = text[start:end]
            clean = ROLE.sub(lambda m: " " * len(m.group(0)), segment)
            if role == "short":
                reading.short = True
                continue
            self._read_segment(reading, start, clean, role)
        if (
            TREND_FILTER.search(text)
            and not any(m.type in (*AVERAGES, "vwap", "ichimoku", "adx") for _, m, _, _ in reading.leftovers)
            and not any(f.forced_entry for f in reading.found)
        ):
            note = "No average named for the trend filter: using EMA(200)."
            reading.leftovers.append(("entry", Mention("ema", (("period", 200),), note=note), True, len(text)))
        return reading

    def _settle_qualifiers(self, reading: Reading, qualified: dict[int, tuple[str, str]], every: bool) -> None:
        """Which written indicator timeframes are higher ones. A fresh draft with no timeframe of its own runs on
        the lowest one written when every indicator names one ("a 4h EMA crossover"), or when it is below the
        default; one equal to the strategy's is its own, and a lower one cannot be used (said in a note)."""
        if not qualified:
            return
        wanted: dict[int, tuple[str, str]] = {}
        for start, (written, kind) in qualified.items():
            timeframe, note = supported_timeframe(written)
            wanted[start] = (timeframe, kind)
            if note:
                self.note(note)
        minutes = TIMEFRAME_MINUTES
        if self.previous is None and reading.timeframe is None:
            lowest = min((timeframe for timeframe, _ in wanted.values()), key=minutes.__getitem__)
            if every or minutes[lowest] < minutes[DEFAULT_TIMEFRAME]:
                reading.timeframe = lowest
        base = reading.timeframe or (self.previous["timeframe"] if self.previous else DEFAULT_TIMEFRAME)
        for start, (timeframe, kind) in wanted.items():
            if minutes[timeframe] > minutes[base]:
                reading.qualifiers[start] = timeframe
            elif minutes[timeframe] < minutes[base]:
                self.note(
                    f"{LABELS[kind]} on {timeframe}: an indicator can only use a timeframe higher than the strategy's "
                    f"({base}), so it is read on {base}."
                )

    def _read_segment(self, reading: Reading, offset: int, clean: str, role: str) -> None:
        tokens = self._expand_bare([_qualified(reading, tok, offset) for tok in lex_tokens(clean, 0, len(clean))])
        direction = next((t.name for t in tokens if t.kind == "dir"), None)
        segment = _Segment(reading, offset, role, tokens, direction, bool(FILTER_WORDS.search(clean)))
        i = 0
        while i < len(tokens):
            i = self._read_token(segment, i)
        for tok in segment.pending:
            if tok.kind == "ind" and tok.mention:
                reading.leftovers.append((role, tok.mention, segment.filtering, offset + tok.start))
            elif tok.kind == "cloud":
                reading.leftovers.append((role, Mention("ichimoku"), segment.filtering, offset + tok.start))

    def _read_token(self, seg: _Segment, i: int) -> int:
        """Read the token at ``i`` (a comparison with the tokens around it); the index of the next one to read."""
        tok = seg.tokens[i]
        if tok.kind == "cond":
            self._golden(seg.reading, tok, seg.role, seg.offset)
            return i + 1
        if tok.kind == "twist":
            self._twist(seg.reading, tok, seg.role, seg.direction, seg.offset)
            return i + 1
        if tok.kind == "surge":
            return self._surge(seg.reading, seg.tokens, i, seg.role, seg.offset)
        if tok.kind == "times" and seg.pending and seg.names_series(i + 1):
            tok = Token("op", tok.start, tok.end, op=">", times=tok.value)  # "volume 2x its average"
        if tok.kind == "op":
            return self._read_comparison(seg, i, tok)
        if tok.kind == "num":
            self._read_level(seg, tok)
        elif tok.kind in ("ind", "price", "ref", "cloud"):
            seg.pending.append(tok)
        return i + 1

    def _read_comparison(self, seg: _Segment, i: int, tok: Token) -> int:
        """The comparison ``tok`` between the last series named and the one after it; the index after it."""
        tokens, pending = seg.tokens, seg.pending
        left = pending.pop() if pending else None
        j = i + 1
        if j + 1 < len(tokens) and tokens[j].kind == "times" and seg.names_series(j + 1):
            tok = replace(tok, times=tok.times * tokens[j].value)  # "above 3 times its average"
            j += 1
        right = tokens[j] if j < len(tokens) and tokens[j].kind in (*SERIES_KINDS, "num", "cloud") else None
        made = self._condition(left, tok, right, seg.role, seg.direction, pending)
        if made is None:
            pending.extend(t for t in (left, right) if t is not None and t.kind == "ind")
        else:
            node, forced = made
            node = map_conditions(node, self._complete) or node
            start = seg.offset + (left.start if left else tok.start)
            end = seg.offset + (right.end if right else tok.end)
            forced_entry = forced or (seg.filtering and is_filter(node, self.registry))
            seg.reading.found.append(Found(seg.role, node, start, end, forced_entry))
        return j + 1 if right else j

    def _read_level(self, seg: _Segment, tok: Token) -> None:
        """A bare number: a threshold of the indicator just named ("RSI 25"), of "it", or of the draft's rule."""
        pending = seg.pending
        named = pending[-1] if pending else None
        if named is not None and named.kind == "ind" and named.mention and not named.mention.output:
            self._read_indicator_level(seg, tok)
        elif (named is not None and named.kind == "ref" and named.name == "it") or (
            self.previous is not None and not pending
        ):
            if pending:
                pending.pop()
            seg.reading.thresholds.append(Threshold(seg.role, None, tok.value, seg.offset + tok.start))

    def _read_indicator_level(self, seg: _Segment, tok: Token) -> None:
        """ "RSI 25": a threshold of an oscillator (or ADX); any other indicator stays pending."""
        subject = seg.pending.pop()
        assert subject.mention is not None
        if subject.mention.type not in (*CARRIED_SUBJECTS, "adx"):
            seg.pending.append(subject)
            return
        ident = self.registry.resolve(subject.mention)
        seg.reading.thresholds.append(
            Threshold(seg.role, default_output(ident, self.registry), tok.value, seg.offset + tok.start)
        )
        self._carry(default_output(ident, self.registry))


@dataclass
class _Segment:
    """One clause being read: its tokens, what it says about them, and the series named but not compared yet."""

    reading: Reading
    offset: int  # where the clause starts in the message
    role: str  # entry | exit
    tokens: list[Token]
    direction: str | None  # "bullish" / "bearish", if the clause says
    filtering: bool  # the clause speaks of a filter ("filter", "trend", "only"): its filters go to the entry
    pending: list[Token] = field(default_factory=list)

    def names_series(self, index: int) -> bool:
        return index < len(self.tokens) and self.tokens[index].kind in SERIES_KINDS


def _qualified(reading: Reading, tok: Token, offset: int) -> Token:
    """The token with the higher timeframe written on it, if any."""
    timeframe = reading.qualifiers.get(offset + tok.start)
    if tok.kind != "ind" or tok.mention is None or timeframe is None:
        return tok
    return replace(tok, mention=replace(tok.mention, timeframe=timeframe))
