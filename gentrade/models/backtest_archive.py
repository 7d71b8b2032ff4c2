"""A finished backtest's Freqtrade result archive (the zip FreqUI and ``freqtrade plot-*`` read), kept in
PostgreSQL so that any API host can serve it, whichever worker host ran the backtest (issue 17).

``bytea`` rather than a large object: it goes with its backtest by ``ON DELETE CASCADE`` (a large object would
need its own clean-up), it is written in the same transaction that marks the backtest finished, and a size
limit (``GENTRADE_RESULT_ARCHIVE_MAX_MB``) keeps it far below bytea's 1 GB. Stored without compression: a zip
does not compress again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gentrade.models.base import Base, utcnow


class BacktestArchive(Base):
    __tablename__ = "backtest_archives"

    backtest_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))  # Freqtrade's own name: backtest-result-<time>.zip
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))  # the download's ETag
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
