"""projects: volunteer service projects (志愿服务项目), each member's slot in one, and the
last project number of each local day

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 17:37:47.651557
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('claim_project',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('project_no', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('street_code', sa.String(length=32), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=True),
    sa.Column('publisher_id', sa.String(length=32), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claim_cutoff', sa.DateTime(timezone=True), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('filled', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.String(length=36), nullable=True),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('case_ids', sa.JSON(), nullable=False),
    sa.Column('evaluation_code_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('project_id'),
    sa.UniqueConstraint('project_no')
    )
    with op.batch_alter_table('claim_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_project_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_project_street_code'), ['street_code'], unique=False)

    op.create_table('claim_project_day',
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('claim_project_slot',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('project_id', 'member_id')
    )
    with op.batch_alter_table('claim_project_slot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_project_slot_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('claim_project_slot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_project_slot_member_id'))

    op.drop_table('claim_project_slot')
    op.drop_table('claim_project_day')
    with op.batch_alter_table('claim_project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_project_street_code'))
        batch_op.drop_index(batch_op.f('ix_claim_project_starts_at'))

    op.drop_table('claim_project')
