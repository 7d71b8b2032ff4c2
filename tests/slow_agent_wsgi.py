"""``wsgi:app`` whose agent model is slow (``SLOW_MODEL_SECONDS`` per call, default 3): for driving the real
gunicorn server (gevent workers) while a model call keeps the stream silent."""

import os

from gentrade.services import agent
from tests.slow_models import per_turn, slow_model
from wsgi import app

DELAY = float(os.environ.get("SLOW_MODEL_SECONDS", "3"))
agent.chat_model = per_turn(lambda: slow_model(DELAY))  # type: ignore[assignment]

__all__ = ["app"]
