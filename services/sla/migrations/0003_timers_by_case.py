"""timers by case: cancelling a case's pending timers finds them by case and state

SQLite chose the (state, due_at) index for ``case_id = ? AND state = 'pending'`` and
read every pending timer on each dispatch; with both columns in one index it reads the
case's own.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 16:30:00.000000
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database made before there were migrations is stamped with the first revision its
    # tables match and upgraded from there: its indexes may be either.
    with op.batch_alter_table('sla_timer', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_timer_case_id', if_exists=True)
        batch_op.create_index('ix_sla_timer_case_state', ['case_id', 'state'], unique=False, if_not_exists=True)


def downgrade() -> None:
    with op.batch_alter_table('sla_timer', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_timer_case_state')
        batch_op.create_index('ix_sla_timer_case_id', ['case_id'], unique=False)
