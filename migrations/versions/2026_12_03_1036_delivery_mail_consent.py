"""delivery mail consent: a signer may ask to be mailed once when their batch is delivered

Revision ID: 7e2b9d4c1a60
Revises: 9c4e7a1d2f58
Create Date: 2026-12-03 10:36:00

Only the flag is stored (off for every existing signature: nobody was asked). The
partial index is what the delivery mail's fan-out reads, a delivered batch's
consenting signers in sequence order; signatures without consent do not pay for it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e2b9d4c1a60'
down_revision = '9c4e7a1d2f58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'has_delivery_consent', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.create_index(
            'ix_signatures_delivery_consent',
            ['petition_id', 'sequence'],
            unique=False,
            sqlite_where=sa.text('has_delivery_consent'),
            postgresql_where=sa.text('has_delivery_consent'),
        )


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_signatures_delivery_consent',
            sqlite_where=sa.text('has_delivery_consent'),
            postgresql_where=sa.text('has_delivery_consent'),
        )
        batch_op.drop_column('has_delivery_consent')
