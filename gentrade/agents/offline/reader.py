"""Reading a whole message: the settings first, then clause by clause into rules, thresholds and leftovers.

Why: one entry point for "what does this message say", shared by fresh drafts, revisions and the router. It
orders the work (settings before rules, higher timeframes before clauses) and leaves building the draft to
:mod:`.fresh` and :mod:`.revising`.
"""

from __future__ import annotations

from dataclasses import replace

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
        filtering = bool(FILTER_WORDS.search(clean))
        pending: list[Token] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind == "cond":
                self._golden(reading, tok, role, offset)
                i += 1
                continue
            if tok.kind == "twist":
                self._twist(reading, tok, role, direction, offset)
                i += 1
                continue
            if tok.kind == "surge":
                i = self._surge(reading, tokens, i, role, offset)
                continue
            if tok.kind == "times" and pending and i + 1 < len(tokens) and tokens[i + 1].kind in SERIES_KINDS:
                tok = Token("op", tok.start, tok.end, op=">", times=tok.value)  # "volume 2x its average"
            if tok.kind == "op":
                left = pending.pop() if pending else None
                j = i + 1
                if j + 1 < len(tokens) and tokens[j].kind == "times" and tokens[j + 1].kind in SERIES_KINDS:
                    tok = replace(tok, times=tok.times * tokens[j].value)  # "above 3 times its average"
                    j += 1
                right = tokens[j] if j < len(tokens) and tokens[j].kind in (*SERIES_KINDS, "num", "cloud") else None
                i = j + 1 if right else j
                made = self._condition(left, tok, right, role, direction, pending)
                if made is None:
                    pending.extend(t for t in (left, right) if t is not None and t.kind == "ind")
                    continue
                node, forced = made
                node = map_conditions(node, self._complete) or node
                start = offset + (left.start if left else tok.start)
                end = offset + (right.end if right else tok.end)
                reading.found.append(
                    Found(role, node, start, end, forced or (filtering and is_filter(node, self.registry)))
                )
                continue
            if tok.kind == "num":
                if pending and pending[-1].kind == "ind" and pending[-1].mention and not pending[-1].mention.output:
                    subject = pending.pop()
                    assert subject.mention is not None
                    if subject.mention.type in (*CARRIED_SUBJECTS, "adx"):
                        ident = self.registry.resolve(subject.mention)
                        reading.thresholds.append(
                            Threshold(role, default_output(ident, self.registry), tok.value, offset + tok.start)
                        )
                        self._carry(default_output(ident, self.registry))
                    else:
                        pending.append(subject)
                elif (pending and pending[-1].kind == "ref" and pending[-1].name == "it") or (
                    self.previous is not None and not pending
                ):
                    if pending:
                        pending.pop()
                    reading.thresholds.append(Threshold(role, None, tok.value, offset + tok.start))
                i += 1
                continue
            if tok.kind in ("ind", "price", "ref", "cloud"):
                pending.append(tok)
            i += 1
        for tok in pending:
            if tok.kind == "ind" and tok.mention:
                reading.leftovers.append((role, tok.mention, filtering, offset + tok.start))
            elif tok.kind == "cloud":
                reading.leftovers.append((role, Mention("ichimoku"), filtering, offset + tok.start))


def _qualified(reading: Reading, tok: Token, offset: int) -> Token:
    """The token with the higher timeframe written on it, if any."""
    timeframe = reading.qualifiers.get(offset + tok.start)
    if tok.kind != "ind" or tok.mention is None or timeframe is None:
        return tok
    return replace(tok, mention=replace(tok.mention, timeframe=timeframe))
