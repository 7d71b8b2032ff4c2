"""Migrations apply on an empty PostgreSQL database and on SQLite, and match the models exactly."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from gentrade import create_app
from gentrade.extensions import db
from gentrade.models import Chat, User
from gentrade.models.base import include_in_migrations
from gentrade.settings import Settings
from tests.database import reset_schema

SCHEMA = "gentrade_migration_check"

TABLES = {
    "users",
    "deleted_users",
    "webhook_events",
    "chats",
    "strategies",
    "backtests",
    "backtest_archives",
    "draft_outputs",
    "opened_threads",
    "agent_turn_starts",
    "agent_token_usage",
    "alembic_version",
}
# LangGraph's checkpoint tables: made by the migrations on PostgreSQL (SQLite keeps them in a file of their own).
CHECKPOINT_TABLES = {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations"}


def _drift(app: Flask) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_in_migrations})
        return compare_metadata(context, db.metadata)


def _tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def _round_trip(app: Flask, tables: set[str]) -> None:
    with app.app_context():
        upgrade()
    assert _tables(app) == tables
    assert _drift(app) == []
    with app.app_context():
        downgrade(revision="base")
    assert _tables(app) == {"alembic_version"}
    with app.app_context():
        upgrade()
    assert _tables(app) == tables


def test_migrations_on_an_empty_postgresql_database(postgres_url: str, tmp_path: Path) -> None:
    reset_schema(postgres_url, SCHEMA)
    url = f"{postgres_url}?options=-csearch_path%3D{SCHEMA}"
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, database_url=url))
    try:
        _round_trip(app, TABLES | CHECKPOINT_TABLES)
    finally:
        with app.app_context():
            db.engine.dispose()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


def test_migrations_on_sqlite(tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path))
    _round_trip(app, TABLES)
    assert (tmp_path / "gentrade.db").is_file()


def test_sqlite_enforces_cascades(tmp_path: Path) -> None:
    """SQLite needs ``PRAGMA foreign_keys``: deleting a user must still delete the user's chats."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path))
    with app.app_context():
        upgrade()
        user = User(clerk_id="user_cascade")
        db.session.add(user)
        db.session.flush()
        db.session.add(Chat(user_id=user.id))
        db.session.commit()
        db.session.execute(db.delete(User))
        db.session.commit()
        assert db.session.query(Chat).count() == 0
