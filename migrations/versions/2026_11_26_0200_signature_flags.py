"""signature flags: held signatures wait for a moderator instead of counting

Revision ID: 5c1d0e7a9f42
Revises: 3b02f5fe13f7
Create Date: 2026-11-26 02:00:00

A flagged signature is stored with why (flag_reasons) and is_held; the fold
counts a signature when it is verified and not held, so its partial index
changes with it. Existing rows are not held (server default false).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1d0e7a9f42'
down_revision = '3b02f5fe13f7'
branch_labels = None
depends_on = None

OLD_FOLD = "(status = 'verified') <> is_counted"
NEW_FOLD = "(status = 'verified' AND NOT is_held) <> is_counted"


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_reasons', sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column('is_held', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('released_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(
            'ix_signatures_fold_pending',
            sqlite_where=sa.text(OLD_FOLD),
            postgresql_where=sa.text(OLD_FOLD),
        )
        batch_op.create_index(
            'ix_signatures_fold_pending',
            ['petition_id'],
            unique=False,
            sqlite_where=sa.text(NEW_FOLD),
            postgresql_where=sa.text(NEW_FOLD),
        )
        batch_op.create_index(
            'ix_signatures_held',
            ['petition_id', 'created_at'],
            unique=False,
            sqlite_where=sa.text('is_held'),
            postgresql_where=sa.text('is_held'),
        )


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_signatures_held',
            sqlite_where=sa.text('is_held'),
            postgresql_where=sa.text('is_held'),
        )
        batch_op.drop_index(
            'ix_signatures_fold_pending',
            sqlite_where=sa.text(NEW_FOLD),
            postgresql_where=sa.text(NEW_FOLD),
        )
        batch_op.create_index(
            'ix_signatures_fold_pending',
            ['petition_id'],
            unique=False,
            sqlite_where=sa.text(OLD_FOLD),
            postgresql_where=sa.text(OLD_FOLD),
        )
        batch_op.drop_column('released_at')
        batch_op.drop_column('is_held')
        batch_op.drop_column('flag_reasons')
