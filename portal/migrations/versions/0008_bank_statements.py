"""bank statements: imports, their lines (each bank transaction once), CSV mappings per bank

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 06:12:31.844202
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_mappings')),
    sa.UniqueConstraint('signature', name=op.f('uq_bank_mappings_signature'))
    )
    op.create_table('statement_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('new_lines', sa.Integer(), nullable=False),
    sa.Column('known_lines', sa.Integer(), nullable=False),
    sa.Column('debits', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_statement_imports_imported_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_imports'))
    )
    with op.batch_alter_table('statement_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_imports_sha256'), ['sha256'], unique=False)

    op.create_table('statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.String(length=200), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('counterparty_name', sa.String(length=200), nullable=False),
    sa.Column('counterparty_account', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=500), nullable=False),
    sa.Column('status', sa.Enum('matched', 'unmatched', 'recorded', 'ignored', name='statement_line_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_statement_lines_account_id_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_statement_lines_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['import_id'], ['statement_imports.id'], name=op.f('fk_statement_lines_import_id_statement_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement_lines')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_statement_lines_transaction_id'))
    )
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_statement_lines_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_statement_lines_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_lines_status'))
        batch_op.drop_index(batch_op.f('ix_statement_lines_import_id'))

    op.drop_table('statement_lines')
    with op.batch_alter_table('statement_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_statement_imports_sha256'))

    op.drop_table('statement_imports')
    op.drop_table('bank_mappings')
