"""agent checkpoint tables (LangGraph's own schema, made by its saver)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 12:20:00.000000

Made here rather than on the checkpointer's first use: its set-up creates an index CONCURRENTLY, which
waits for every open transaction in the database, and a request that first needs checkpoints has one
open (the caller's user row), so the first such request on a new database would never return.
The embedded SQLite database keeps its checkpoints in a file of their own, set up on first use.
"""

from alembic import op
from langgraph.checkpoint.postgres import PostgresSaver

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# LangGraph's tables, newest dependants first; its migrations table last.
CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints", "checkpoint_migrations")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        PostgresSaver(op.get_bind().connection.driver_connection).setup()


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in CHECKPOINT_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table}")
