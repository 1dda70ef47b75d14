"""open watches by case: the auditor goes round the open dispatches a slice at a time

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 11:00:00.000000
"""

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sla_watch', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_watch_open', if_exists=True)
        batch_op.create_index('ix_sla_watch_open_case', ['open', 'case_id'], unique=False, if_not_exists=True)


def downgrade() -> None:
    with op.batch_alter_table('sla_watch', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_watch_open_case')
        batch_op.create_index('ix_sla_watch_open', ['open'], unique=False)
