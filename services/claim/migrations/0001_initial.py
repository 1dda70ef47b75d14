"""initial: the tables as the services created them before there were migrations

Revision ID: 0001
Create Date: 2026-12-01 09:27:42.574260
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('claim_early_extension',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('case_id', 'generation', 'stage')
    )
    op.create_table('claim_task',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('correlation_id', sa.String(length=36), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=True),
    sa.Column('street_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=True),
    sa.Column('summary', sa.String(), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accept_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('respond_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(), nullable=True),
    sa.Column('warning', sa.String(length=16), nullable=True),
    sa.Column('suspend_limit_seconds', sa.Float(), nullable=False),
    sa.Column('suspend_used_seconds', sa.Float(), nullable=False),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspensions', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('claim_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_task_branch_code'), ['branch_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_task_status'), ['status'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=128), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('correlation_id', sa.String(length=36), nullable=False),
    sa.Column('payload', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('processed_event',
    sa.Column('consumer', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )


def downgrade() -> None:
    op.drop_table('processed_event')
    op.drop_table('outbox')
    with op.batch_alter_table('claim_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_task_status'))
        batch_op.drop_index(batch_op.f('ix_claim_task_branch_code'))

    op.drop_table('claim_task')
    op.drop_table('claim_early_extension')
