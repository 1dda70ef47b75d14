"""points: volunteer projects as feedback keeps them, confirmed completions, both sides' evaluations
and the points ledger keyed by (member, project, reason)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 17:36:28.193851
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback_points_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=False),
    sa.Column('street_code', sa.String(length=32), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'project_id', 'reason', name='uq_feedback_points_entry')
    )
    with op.batch_alter_table('feedback_points_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_points_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_points_entry_branch_code'), ['branch_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_points_entry_member_id'), ['member_id'], unique=False)

    op.create_table('feedback_project',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('project_no', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=True),
    sa.Column('street_code', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('evaluation_code_hash', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rated_good_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('project_id')
    )
    with op.batch_alter_table('feedback_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_project_project_no'), ['project_no'], unique=False)

    op.create_table('feedback_project_completion',
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('branch_code', sa.String(length=32), nullable=False),
    sa.Column('street_code', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'member_id')
    )
    op.create_table('feedback_project_evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=36), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'member_id', name='uq_feedback_project_evaluation_member')
    )
    with op.batch_alter_table('feedback_project_evaluation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_project_evaluation_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('feedback_project_evaluation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_project_evaluation_project_id'))

    op.drop_table('feedback_project_evaluation')
    op.drop_table('feedback_project_completion')
    with op.batch_alter_table('feedback_project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_project_project_no'))

    op.drop_table('feedback_project')
    with op.batch_alter_table('feedback_points_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_points_entry_member_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_points_entry_branch_code'))
        batch_op.drop_index(batch_op.f('ix_feedback_points_entry_at'))

    op.drop_table('feedback_points_entry')
