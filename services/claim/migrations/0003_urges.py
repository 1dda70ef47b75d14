"""urges: how often and when supervisors urged (督办) a task, and what they said

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:04:26.052920
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('claim_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urge_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('urged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('urge_note', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('claim_task', schema=None) as batch_op:
        batch_op.drop_column('urge_note')
        batch_op.drop_column('urged_at')
        batch_op.drop_column('urge_count')
