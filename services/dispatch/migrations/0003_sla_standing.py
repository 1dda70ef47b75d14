"""sla standing: what the clock said about the dispatch in force, for reassignment (改派)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:04:24.317487
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A dispatch made before this revision has no standing: it counts as on time, so such
    # a case can be reassigned only from the street's queue, until its next dispatch.
    with op.batch_alter_table('dispatch_assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing', sa.String(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('dispatch_assignment', schema=None) as batch_op:
        batch_op.drop_column('standing')
