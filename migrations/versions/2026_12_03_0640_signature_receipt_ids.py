"""signature receipt ids: a random id in each signature's row of every batch

Revision ID: 7e1c5b0a3d21
Revises: 2f6b8d0e4a17
Create Date: 2026-12-03 06:40:00

Each row of a batch's signatures.csv is a leaf of the batch's Merkle tree; the
random receipt id in the row keeps the sibling hashes of a receipt from being
matched against guessed names. Existing signatures get one each (16 random bytes
from the operating system, as new ones do), in chunks, before the column becomes
NOT NULL.
"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e1c5b0a3d21'
down_revision = '2f6b8d0e4a17'
branch_labels = None
depends_on = None

CHUNK = 5000


def upgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_id', sa.String(length=32), nullable=True))
    conn = op.get_bind()
    signatures = sa.table('signatures', sa.column('id', sa.Integer), sa.column('receipt_id'))
    update = (
        sa.update(signatures)
        .where(signatures.c.id == sa.bindparam('row_id'))
        .values(receipt_id=sa.bindparam('new_id'))
    )
    last = 0
    while True:
        ids = conn.execute(
            sa.select(signatures.c.id)
            .where(signatures.c.id > last, signatures.c.receipt_id.is_(None))
            .order_by(signatures.c.id)
            .limit(CHUNK)
        ).scalars().all()
        if not ids:
            break
        conn.execute(update, [{'row_id': i, 'new_id': secrets.token_hex(16)} for i in ids])
        last = ids[-1]
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.alter_column('receipt_id', existing_type=sa.String(length=32), nullable=False)


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('receipt_id')
