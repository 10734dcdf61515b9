"""outbox: priority, a stable Message-ID, and leases for at-most-once delivery

Revision ID: 7c2f0e91d4a3
Revises: 872ed7a10a8a
Create Date: 2026-12-03 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2f0e91d4a3'
down_revision = '872ed7a10a8a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default='50', nullable=False))
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_outbox_messages_due')
    # Messages queued before this revision get a Message-ID of their own, random per row.
    if op.get_bind().dialect.name == 'postgresql':
        random_part = "md5(random()::text || id::text)"
    else:
        random_part = "lower(hex(randomblob(16)))"
    op.execute(
        f"UPDATE outbox_messages SET message_id = '<' || {random_part} || '@localhost>'"
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_index(
            'ix_outbox_messages_due', ['status', 'priority', 'next_attempt_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_due')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('message_id')
        batch_op.drop_column('priority')
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)
