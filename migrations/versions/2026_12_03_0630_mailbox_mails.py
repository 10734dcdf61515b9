"""mailbox mails: the mail limit per mailbox, exact across processes

Revision ID: 2f6b8d0e4a17
Revises: 7e3a91c4d2b8
Create Date: 2026-12-03 06:30:00

Each mail queued to a mailbox because someone signed with its address is a row (a
keyed hash of the canonical address, and when), counted in the transaction that
queues the mail. The counts kept in the limiter's store before are not carried over:
the limit starts empty, at most one window's worth of mail more per mailbox.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "2f6b8d0e4a17"
down_revision = "7e3a91c4d2b8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mailbox_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_mails")),
    )
    with op.batch_alter_table("mailbox_mails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mailbox_mails_mailbox_hash_sent_at", ["mailbox_hash", "sent_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mailbox_mails_sent_at"), ["sent_at"], unique=False)


def downgrade():
    with op.batch_alter_table("mailbox_mails", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_mails_sent_at"))
        batch_op.drop_index("ix_mailbox_mails_mailbox_hash_sent_at")
    op.drop_table("mailbox_mails")
