"""agent turn starts and daily token usage, for the per-user agent limits

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "agent_turn_starts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_turn_starts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_turn_starts")),
    )
    with op.batch_alter_table("agent_turn_starts", schema=None) as batch_op:
        batch_op.create_index("ix_agent_turn_starts_user_id_started_at", ["user_id", "started_at"], unique=False)

    op.create_table(
        "agent_token_usage",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_token_usage_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_agent_token_usage")),
    )


def downgrade():
    op.drop_table("agent_token_usage")
    with op.batch_alter_table("agent_turn_starts", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_turn_starts_user_id_started_at")
    op.drop_table("agent_turn_starts")
