"""SQLAlchemy models. Importing this package registers every table on the metadata."""

from gentrade.models.agent_thread import DraftOutput, OpenedThread
from gentrade.models.agent_usage import AgentTokenUsage, AgentTurnStart
from gentrade.models.backtest import Backtest, BacktestStatus
from gentrade.models.backtest_archive import BacktestArchive
from gentrade.models.base import Base, utcnow
from gentrade.models.chat import Chat
from gentrade.models.strategy import Strategy
from gentrade.models.user import DeletedUser, User
from gentrade.models.webhook_event import WebhookEvent

__all__ = [
    "AgentTokenUsage",
    "AgentTurnStart",
    "Backtest",
    "BacktestArchive",
    "BacktestStatus",
    "Base",
    "Chat",
    "DeletedUser",
    "DraftOutput",
    "OpenedThread",
    "Strategy",
    "User",
    "WebhookEvent",
    "utcnow",
]
