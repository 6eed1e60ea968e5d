"""rate_window: sliding windows of login, join and pre-entry attempts, shared by processes;
number_series: case numbers taken atomically (no two parallel cases get the same number)

Revision ID: harden_02
Revises: divorce_01
Create Date: 2026-12-04 18:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'harden_02'
down_revision = 'divorce_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'number_series',
        sa.Column('series', sa.String(length=40), nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('series', name=op.f('pk_number_series')),
    )
    op.create_table(
        'rate_window',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('hits', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_window')),
    )
    with op.batch_alter_table('rate_window', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_window_updated_at'), ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('rate_window', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_window_updated_at'))
    op.drop_table('rate_window')
    op.drop_table('number_series')
