"""backtest_archives: each finished backtest's result archive, served by any API host

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 21:40:00.000000

The zip Freqtrade writes, kept beside its backtest (deleted with it) so that no host needs another host's disk.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "backtest_archives",
        sa.Column("backtest_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["backtest_id"],
            ["backtests.id"],
            name=op.f("fk_backtest_archives_backtest_id_backtests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backtest_id", name=op.f("pk_backtest_archives")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # A zip does not compress again: keep TOAST from trying (out of line, uncompressed).
        op.execute("ALTER TABLE backtest_archives ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade():
    op.drop_table("backtest_archives")
