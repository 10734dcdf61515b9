"""petition hourly counts: what the fold counted per petition and hour, for activity

Revision ID: 9c4e7a1d2f58
Revises: 5a7d2c9e1b36
Create Date: 2026-12-03 07:45:00

Starts empty: hours before it are unknown, and pages leave their figures out.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '9c4e7a1d2f58'
down_revision = '5a7d2c9e1b36'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'petition_hourly_counts',
        sa.Column('petition_id', sa.Integer(), nullable=False),
        sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
        sa.Column('counted', sa.Integer(), nullable=False),
        sa.Column('uncounted', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['petition_id'], ['petitions.id'],
            name=op.f('fk_petition_hourly_counts_petition_id_petitions'),
        ),
        sa.PrimaryKeyConstraint('petition_id', 'hour', name=op.f('pk_petition_hourly_counts')),
    )


def downgrade():
    op.drop_table('petition_hourly_counts')
