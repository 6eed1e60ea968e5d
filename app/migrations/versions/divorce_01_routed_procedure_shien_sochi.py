"""routed procedures carry whether the case is under a DV 支援措置

Revision ID: divorce_01
Revises: harden_01
Create Date: 2026-12-03 06:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'divorce_01'
down_revision = 'harden_01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('routed_procedure', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('shien_sochi', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table('routed_procedure', schema=None) as batch_op:
        batch_op.drop_column('shien_sochi')
