"""draft outputs and opened agent threads

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('draft_outputs',
    sa.Column('tool_call_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('thread_id', sa.Uuid(), nullable=False),
    sa.Column('draft', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_draft_outputs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tool_call_id', name=op.f('pk_draft_outputs'))
    )
    with op.batch_alter_table('draft_outputs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_outputs_thread_id'), ['thread_id'], unique=False)

    op.create_table('opened_threads',
    sa.Column('thread_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('opening_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_opened_threads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thread_id', name=op.f('pk_opened_threads'))
    )
    with op.batch_alter_table('opened_threads', schema=None) as batch_op:
        batch_op.create_index('ix_opened_threads_user_id_created_at', ['user_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('opened_threads', schema=None) as batch_op:
        batch_op.drop_index('ix_opened_threads_user_id_created_at')

    op.drop_table('opened_threads')
    with op.batch_alter_table('draft_outputs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_outputs_thread_id'))

    op.drop_table('draft_outputs')
