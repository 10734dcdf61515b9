"""outbox: the hand-over to SMTP, and the "unknown" outcome

Revision ID: 4d7a1c9e2b60
Revises: 2c8f5a3e9d71
Create Date: 2026-12-03 11:20:00

`handed_over_at` is committed by the worker just before the SMTP DATA of a message; a
message found so marked after its worker's lease passed is never sent again but given
the status 'unknown'. Code of the previous release never sets the column and never
meets the new status (only the new worker writes it).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "4d7a1c9e2b60"
down_revision = "2c8f5a3e9d71"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f("ck_outbox_messages_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbox_messages_status_known"),
            "status IN ('queued', 'sent', 'failed', 'unknown')",
        )


def downgrade():
    # An unknown outcome was not sent again: the nearest older state is failed.
    op.execute("UPDATE outbox_messages SET status = 'failed' WHERE status = 'unknown'")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_outbox_messages_status_known"),
            "status IN ('queued', 'sent', 'failed')",
        )
        batch_op.drop_column("handed_over_at")
