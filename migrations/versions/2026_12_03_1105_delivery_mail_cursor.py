"""delivery mail cursor: how far a delivered batch's delivery mails are queued

Revision ID: 2c8f5a3e9d71
Revises: 6e2b9d4a7c15
Create Date: 2026-12-03 11:05:00

Set when a batch is marked delivered; the worker queues the mails of the signers in it
who asked, in sequence order, and moves it in the same transaction. Batches delivered
before keep NULL: nobody could have asked.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2c8f5a3e9d71'
down_revision = '6e2b9d4a7c15'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('export_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notices_through', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('export_batches', schema=None) as batch_op:
        batch_op.drop_column('notices_through')
