"""The reader reads back what the writer writes (blueprints/sse.py), as a whole body or line by line."""

from __future__ import annotations

from gentrade import sse_reader
from gentrade.blueprints import sse


def test_reads_back_the_writers_frames() -> None:
    body = "".join(
        [
            sse.frame("status", {"step": "reading"}),
            sse.KEEP_ALIVE,
            sse.frame("token", {"text": "a\nb"}),
            sse.frame("end"),
        ]
    )
    assert sse_reader.parse(body) == [("status", {"step": "reading"}), ("token", {"text": "a\nb"}), ("end", None)]


def test_line_by_line_and_a_stream_cut_after_its_data() -> None:
    lines = ["event: token", 'data: {"text": "x"}', "", ": keep-alive", "", "event: end", "data: {}"]
    assert list(sse_reader.events(lines)) == [("token", {"text": "x"}), ("end", {})]


def test_crlf_lines_and_fields_without_a_space() -> None:
    reader = sse_reader.Reader()
    assert reader.feed("event:status\r\n") is None
    assert reader.feed("data:[1]\r\n") is None
    assert reader.feed("\r\n") == ("status", [1])
