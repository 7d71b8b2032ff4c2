"""While a worker runs a backtest: the heartbeat that keeps it the worker's (and notices a cancel or a deletion
within one beat), and the progress it records. Both write from beside the run, so a database hiccup in either
must never fail the backtest."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from gentrade.extensions import db
from gentrade.services import backtest_state as state

log = logging.getLogger(__name__)


class Heartbeat:
    """Beats every few seconds in a thread; ``lost`` turns True once the backtest is no longer ours."""

    def __init__(self, backtest_id: uuid.UUID, app: Any) -> None:
        self.backtest_id = backtest_id
        self.app = app
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{backtest_id}", daemon=True)

    def _loop(self) -> None:
        with self.app.app_context():
            interval = state.heartbeat_every()
            while not self._stop.wait(interval):
                try:
                    if not state.beat(self.backtest_id):
                        self.lost = True
                except Exception:  # a database blip must not kill the backtest; the next beat retries
                    log.warning("heartbeat of %s failed", self.backtest_id, exc_info=True)

    def check_now(self) -> bool:
        """Beat immediately (used when a phase starts) and say whether we still own the backtest."""
        if not state.beat(self.backtest_id):
            self.lost = True
        return not self.lost

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class ProgressRecorder:
    """Records the running backtest's progress when it moved by a percent or more (a write per poll at most)."""

    STEP = 0.01

    def __init__(self, backtest_id: uuid.UUID) -> None:
        self.backtest_id = backtest_id
        self.recorded = 0.0

    def __call__(self, value: float) -> None:
        if value - self.recorded < self.STEP:
            return
        self.recorded = value
        try:
            state.advance(self.backtest_id, value)
        except Exception:  # progress is a courtesy: a database hiccup must not fail the backtest
            db.session.rollback()
            log.warning("could not record the progress of %s", self.backtest_id, exc_info=True)
