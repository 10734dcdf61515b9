"""signature links: every link mailed to a signer, each with its own hash

Revision ID: 7e3a91c4d2b8
Revises: 7c2f0e91d4a3
Create Date: 2026-12-03 06:00:00

Signing again used to replace a signature's one confirm and one withdraw token hash,
so anyone typing a signer's address killed the links in the signer's earlier mails.
Each link now is a row of signature_links; the hashes already stored move there, so
every link mailed before this migration keeps working.

The old columns are dropped in the same step: code of the previous release would
write links this release cannot read, so stop the app processes while migrating.

On SQLite, dropping the columns recreates the signatures table; with foreign keys on,
that would cascade into a table referencing it, so the hashes wait in a plain table
while the signatures table is rebuilt, and signature_links is made after.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e3a91c4d2b8'
down_revision = '7c2f0e91d4a3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signature_links_moving',
        sa.Column('signature_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "INSERT INTO signature_links_moving (signature_id, purpose, token_hash, created_at, expires_at) "
        "SELECT id, 'confirm', confirm_token_hash, created_at, confirm_expires_at FROM signatures "
        "WHERE confirm_token_hash IS NOT NULL"
    )
    op.execute(
        "INSERT INTO signature_links_moving (signature_id, purpose, token_hash, created_at, expires_at) "
        "SELECT id, 'withdraw', withdraw_token_hash, created_at, NULL FROM signatures "
        "WHERE withdraw_token_hash IS NOT NULL"
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint('uq_signatures_confirm_token_hash', type_='unique')
        batch_op.drop_constraint('uq_signatures_withdraw_token_hash', type_='unique')
        batch_op.drop_column('confirm_token_hash')
        batch_op.drop_column('withdraw_token_hash')

    op.create_table(
        'signature_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('signature_id', sa.Integer(), nullable=False),
        sa.Column(
            'purpose',
            sa.Enum('confirm', 'withdraw', name='linkpurpose', native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('confirm', 'withdraw')", name=op.f('ck_signature_links_purpose_known')
        ),
        sa.ForeignKeyConstraint(
            ['signature_id'],
            ['signatures.id'],
            name=op.f('fk_signature_links_signature_id_signatures'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_signature_links_token_hash')),
    )
    with op.batch_alter_table('signature_links', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_signature_links_signature_id'), ['signature_id'], unique=False
        )
    op.execute(
        "INSERT INTO signature_links (signature_id, purpose, token_hash, created_at, expires_at) "
        "SELECT signature_id, purpose, token_hash, created_at, expires_at "
        "FROM signature_links_moving ORDER BY signature_id, purpose"
    )
    op.drop_table('signature_links_moving')


def downgrade():
    # Back to one link of each kind per signature: the newest unused one is kept.
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('withdraw_token_hash', sa.String(length=64), nullable=True))
    for purpose in ('confirm', 'withdraw'):
        op.execute(
            f"UPDATE signatures SET {purpose}_token_hash = (SELECT l.token_hash "
            "FROM signature_links l WHERE l.signature_id = signatures.id "
            f"AND l.purpose = '{purpose}' AND l.used_at IS NULL ORDER BY l.id DESC LIMIT 1)"
        )
    with op.batch_alter_table('signature_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_links_signature_id'))
    op.drop_table('signature_links')
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            'uq_signatures_confirm_token_hash', ['confirm_token_hash']
        )
        batch_op.create_unique_constraint(
            'uq_signatures_withdraw_token_hash', ['withdraw_token_hash']
        )
