"""organizer accounts and the petitions each runs

Revision ID: 5d1e7a2c9b40
Revises: 437bb1c21dee
Create Date: 2026-11-26 03:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5d1e7a2c9b40'
down_revision = '437bb1c21dee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('role', sa.Enum('admin', 'organizer', name='userrole', native_enum=False, length=16), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('totp_secret', sa.String(length=64), nullable=True),
        sa.Column('totp_last_step', sa.Integer(), nullable=True),
        sa.Column('session_nonce', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'organizer')", name=op.f('ck_users_role_known')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    )
    op.create_table(
        'user_petitions',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['petition_id'], ['petitions.id'], name=op.f('fk_user_petitions_petition_id_petitions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_petitions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'petition_id', name=op.f('pk_user_petitions')),
    )


def downgrade():
    op.drop_table('user_petitions')
    op.drop_table('users')
