"""initial: the tables as the services created them before there were migrations

Revision ID: 0001
Create Date: 2026-12-01 09:27:42.429447
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_case',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('case_no', sa.String(length=40), nullable=True),
    sa.Column('tracking_code', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('citizen_name', sa.String(), nullable=True),
    sa.Column('citizen_phone', sa.String(), nullable=True),
    sa.Column('grid_code', sa.String(), nullable=True),
    sa.Column('address', sa.String(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('correlation_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=True),
    sa.Column('street_code', sa.String(length=32), nullable=True),
    sa.Column('member_id', sa.String(length=32), nullable=True),
    sa.Column('accept_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('respond_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_generation', sa.Integer(), nullable=False),
    sa.Column('shift_generation', sa.Integer(), nullable=False),
    sa.Column('accept_shift_seconds', sa.Float(), nullable=False),
    sa.Column('respond_shift_seconds', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds_to_accept', sa.Float(), nullable=True),
    sa.Column('seconds_to_respond', sa.Float(), nullable=True),
    sa.Column('accept_breached', sa.Boolean(), nullable=False),
    sa.Column('respond_breached', sa.Boolean(), nullable=False),
    sa.Column('escalation_count', sa.Integer(), nullable=False),
    sa.Column('extension_count', sa.Integer(), nullable=False),
    sa.Column('suspension_count', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('feedback_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('case_no'),
    sa.UniqueConstraint('external_id')
    )
    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_case_branch_code'), ['branch_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_case_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_case_status'), ['status'], unique=False)

    op.create_table('intake_timeline',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('intake_timeline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_timeline_case_id'), ['case_id'], unique=False)

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
    with op.batch_alter_table('intake_timeline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_timeline_case_id'))

    op.drop_table('intake_timeline')
    with op.batch_alter_table('intake_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_case_status'))
        batch_op.drop_index(batch_op.f('ix_intake_case_created_at'))
        batch_op.drop_index(batch_op.f('ix_intake_case_branch_code'))

    op.drop_table('intake_case')
