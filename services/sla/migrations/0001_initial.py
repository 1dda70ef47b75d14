"""initial: the tables as the services created them before there were migrations

Revision ID: 0001
Create Date: 2026-12-01 09:27:42.721860
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_table('sla_early_shift',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('case_id', 'generation', 'stage')
    )
    op.create_table('sla_settled',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('case_id', 'generation', 'stage')
    )
    op.create_table('sla_timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('correlation_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'kind', 'generation', name='uq_sla_timer_case_kind_generation')
    )
    with op.batch_alter_table('sla_timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_timer_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_sla_timer_pending_due', ['state', 'due_at'], unique=False)

    op.create_table('sla_watch',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('correlation_id', sa.String(length=36), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accept_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('respond_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('warn_at', sa.Float(), nullable=False),
    sa.Column('open', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('sla_watch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_watch_open'), ['open'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sla_watch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_watch_open'))

    op.drop_table('sla_watch')
    with op.batch_alter_table('sla_timer', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_timer_pending_due')
        batch_op.drop_index(batch_op.f('ix_sla_timer_case_id'))

    op.drop_table('sla_timer')
    op.drop_table('sla_settled')
    op.drop_table('sla_early_shift')
    op.drop_table('processed_event')
    op.drop_table('outbox')
