"""strategies brought as code: what the Freqtrade check read off the class

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 10:00:00.000000

A strategy brought as code has no draft; its timeframe, shorting, start-up candles and the other
candles it reads come from the check and are kept here (NULL for strategies made from a draft).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("loaded", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"))
        )


def downgrade():
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.drop_column("loaded")
