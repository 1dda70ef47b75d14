"""open cases by status and branch: the open-case gauge counts from the index alone

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 11:00:00.000000
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_case_status', if_exists=True)
        batch_op.create_index('ix_intake_case_status_branch', ['status', 'branch_code'], unique=False,
                              if_not_exists=True)


def downgrade() -> None:
    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_case_status_branch')
        batch_op.create_index('ix_intake_case_status', ['status'], unique=False)
