"""routed procedures keep their guidance (案内のみ): routed as "guidance", never pending

Revision ID: routing_01
Revises: seal_01
Create Date: 2026-12-06 21:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'routing_01'
down_revision = 'seal_01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('routed_procedure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guidance', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('routed_procedure', schema=None) as batch_op:
        batch_op.drop_column('guidance')
