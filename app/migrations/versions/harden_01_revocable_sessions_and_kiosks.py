"""revocable resident sessions, staff session generation, one-time kiosk setup

Revision ID: harden_01
Revises: counter_01
Create Date: 2026-12-03 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'harden_01'
down_revision = 'counter_01'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'resident_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sid_hash', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('join_link_id', sa.Integer(), nullable=True),
        sa.Column('kiosk_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('end_reason', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['case.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['join_link_id'], ['join_link.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['kiosk_id'], ['kiosk.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sid_hash'),
    )
    op.create_index('ix_resident_session_case_id', 'resident_session', ['case_id'])
    with op.batch_alter_table('kiosk') as batch:
        batch.add_column(sa.Column('setup_code_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('setup_expires_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('credential_issued_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('previous_token_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('previous_valid_until', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('staff_user') as batch:
        batch.add_column(
            sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade():
    with op.batch_alter_table('staff_user') as batch:
        batch.drop_column('session_generation')
    with op.batch_alter_table('kiosk') as batch:
        for name in ('revoked_at', 'previous_valid_until', 'previous_token_hash',
                     'credential_issued_at', 'setup_expires_at', 'setup_code_hash'):
            batch.drop_column(name)
    op.drop_index('ix_resident_session_case_id', table_name='resident_session')
    op.drop_table('resident_session')
