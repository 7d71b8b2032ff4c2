"""backtests: how far a running backtest is

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:00:00.000000

Freqtrade's own progress (0..1) while a backtest runs, 1 once it finished, NULL before it runs.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_column("progress")
