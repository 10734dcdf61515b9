"""batch proofs: the signed manifest and the Merkle leaves of each batch, for receipts

Revision ID: 4b9d2e6f8a13
Revises: 7e1c5b0a3d21
Create Date: 2026-12-03 06:50:00

Receipts are made from the database, wherever the batch's ZIP went: each batch keeps
its manifest's exact bytes and signature, and its leaf hashes in blocks. Batches made
before have neither (their receipts cannot be made; their rows had no receipt id).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4b9d2e6f8a13'
down_revision = '7e1c5b0a3d21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('export_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merkle_root', sa.String(length=64), nullable=True))
    op.create_table(
        'export_batch_proofs',
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('manifest_json', sa.LargeBinary(), nullable=False),
        sa.Column('manifest_sig', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['batch_id'], ['export_batches.id'],
            name=op.f('fk_export_batch_proofs_batch_id_export_batches'),
        ),
        sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_export_batch_proofs')),
    )
    op.create_table(
        'export_batch_leaves',
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('block', sa.Integer(), nullable=False),
        sa.Column('first_sequence', sa.Integer(), nullable=False),
        sa.Column('last_sequence', sa.Integer(), nullable=False),
        sa.Column('root', sa.LargeBinary(length=32), nullable=False),
        sa.Column('sequences', sa.LargeBinary(), nullable=False),
        sa.Column('leaf_hashes', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ['batch_id'], ['export_batches.id'],
            name=op.f('fk_export_batch_leaves_batch_id_export_batches'),
        ),
        sa.PrimaryKeyConstraint('batch_id', 'block', name=op.f('pk_export_batch_leaves')),
    )


def downgrade():
    op.drop_table('export_batch_leaves')
    op.drop_table('export_batch_proofs')
    with op.batch_alter_table('export_batches', schema=None) as batch_op:
        batch_op.drop_column('merkle_root')
