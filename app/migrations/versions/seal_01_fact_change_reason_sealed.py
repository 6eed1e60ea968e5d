"""fact change reasons are sealed like fact values, so the column holds a token

Revision ID: seal_01
Revises: harden_02
Create Date: 2026-12-04 19:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'seal_01'
down_revision = 'harden_02'
branch_labels = None
depends_on = None


def upgrade():
    # A sealed 200-character Japanese reason is ~900 characters: VARCHAR(500) would cut it
    # on PostgreSQL. Reasons stored before this revision stay readable as they are.
    with op.batch_alter_table('fact_change', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.String(length=500), type_=sa.Text())


def downgrade():
    with op.batch_alter_table('fact_change', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.Text(), type_=sa.String(length=500))
