"""failed attempts: failed sign-ins and guesses counted in the database, shared by replicas

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:28:01.994703
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('failed_attempt',
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('resets_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key')
    )
    with op.batch_alter_table('failed_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_attempt_resets_at'), ['resets_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('failed_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_attempt_resets_at'))

    op.drop_table('failed_attempt')
