"""worker heartbeats: each running worker's last sign of life

Revision ID: 3b8d5e1f9a27
Revises: 4b9d2e6f8a13
Create Date: 2026-12-03 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b8d5e1f9a27'
down_revision = '4b9d2e6f8a13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('worker_heartbeats',
    sa.Column('worker_id', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mail_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('folded_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_worker_heartbeats'))
    )


def downgrade():
    op.drop_table('worker_heartbeats')
