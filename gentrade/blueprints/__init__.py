"""HTTP layer: one flask-smorest blueprint per resource."""

from gentrade.blueprints import agent, backtests, chats, health, langserve, metrics, strategies, webhooks

API_BLUEPRINTS = (
    health.blp,
    metrics.blp,
    webhooks.blp,
    chats.blp,
    strategies.blp,
    backtests.blp,
    agent.blp,
    langserve.blp,
)
