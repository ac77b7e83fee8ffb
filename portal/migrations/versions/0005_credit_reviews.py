"""credit reviews: policy versions, reviews, obligations, evidence, contacts, decisions;
the client's credit limit, risk grade, next review and letter language; decision records as a
document type

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 05:13:17.414343
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

DOC_TYPES = ("credit_report", "identity", "contract", "bank_statement", "income_proof",
             "correspondence", "agreement", "other")


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('max_dti_bp', sa.Integer(), nullable=False),
    sa.Column('min_bureau_score', sa.Integer(), nullable=False),
    sa.Column('max_income_multiple_x100', sa.Integer(), nullable=False),
    sa.Column('min_residual_bp', sa.Integer(), nullable=False),
    sa.Column('bureau_max_age_days', sa.Integer(), nullable=False),
    sa.Column('required_items', sa.JSON(), nullable=False),
    sa.Column('authority', sa.JSON(), nullable=False),
    sa.Column('review_months', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_credit_policies_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_policies')),
    sa.UniqueConstraint('version', name=op.f('uq_credit_policies_version'))
    )
    with op.batch_alter_table('credit_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_policies_effective_from'), ['effective_from'], unique=False)

    op.create_table('credit_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('new_limit', 'limit_increase', 'periodic', name='review_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('draft', 'verification', 'awaiting_decision', 'approved', 'declined', 'withdrawn', name='review_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('requested_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('monthly_income_minor', sa.BigInteger(), nullable=False),
    sa.Column('bureau_score', sa.Integer(), nullable=True),
    sa.Column('bureau_date', sa.Date(), nullable=True),
    sa.Column('needed_role', sa.String(length=20), nullable=True),
    sa.Column('prepared_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_credit_reviews_client_id_clients')),
    sa.ForeignKeyConstraint(['prepared_by_id'], ['users.id'], name=op.f('fk_credit_reviews_prepared_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_reviews'))
    )
    with op.batch_alter_table('credit_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_reviews_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_reviews_needed_role'), ['needed_role'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_reviews_prepared_by_id'), ['prepared_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_reviews_status'), ['status'], unique=False)

    op.create_table('credit_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('start_verification', 'submit', 'approve', 'decline', 'refer_up', 'send_back', 'withdraw', name='decision_action', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('approved_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('risk_grade', sa.Enum('high', 'medium', 'low', name='risk_grade', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('request_token', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_credit_decisions_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_credit_decisions_document_id_documents')),
    sa.ForeignKeyConstraint(['policy_id'], ['credit_policies.id'], name=op.f('fk_credit_decisions_policy_id_credit_policies')),
    sa.ForeignKeyConstraint(['review_id'], ['credit_reviews.id'], name=op.f('fk_credit_decisions_review_id_credit_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_decisions')),
    sa.UniqueConstraint('request_token', name=op.f('uq_credit_decisions_request_token'))
    )
    with op.batch_alter_table('credit_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_decisions_review_id'), ['review_id'], unique=False)

    op.create_table('review_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.Enum('bureau', 'employment', 'bank', 'lenders', name='review_item', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.Enum('phone', 'email', 'letter', name='contact_channel', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Enum('confirmed', 'not_confirmed', 'no_answer', name='contact_outcome', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('logged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('logged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['logged_by_id'], ['users.id'], name=op.f('fk_review_contacts_logged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['credit_reviews.id'], name=op.f('fk_review_contacts_review_id_credit_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_contacts'))
    )
    with op.batch_alter_table('review_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_contacts_review_id'), ['review_id'], unique=False)

    op.create_table('review_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.Enum('bureau', 'employment', 'bank', 'lenders', name='review_item', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_review_evidence_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_review_evidence_document_id_documents')),
    sa.ForeignKeyConstraint(['review_id'], ['credit_reviews.id'], name=op.f('fk_review_evidence_review_id_credit_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_evidence'))
    )
    with op.batch_alter_table('review_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_evidence_review_id'), ['review_id'], unique=False)

    op.create_table('review_obligations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('lender', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('mortgage', 'personal_loan', 'car_loan', 'credit_card', 'overdraft', 'other', name='obligation_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('outstanding_minor', sa.BigInteger(), nullable=False),
    sa.Column('monthly_payment_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['credit_reviews.id'], name=op.f('fk_review_obligations_review_id_credit_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_obligations'))
    )
    with op.batch_alter_table('review_obligations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_obligations_review_id'), ['review_id'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_limit_minor', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('credit_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('risk_grade', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('next_review_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=2), nullable=False,
                                      server_default="hu"))
        batch_op.create_index(batch_op.f('ix_clients_next_review_due'), ['next_review_due'], unique=False)

    _doc_types(DOC_TYPES + ("credit_decision",))
    # The first version of the protocol, so a new installation can review at once; an
    # administrator saves the office's own figures as version 2.
    policies = sa.table(
        "credit_policies", sa.column("version", sa.Integer), sa.column("effective_from", sa.Date),
        sa.column("max_dti_bp", sa.Integer), sa.column("min_bureau_score", sa.Integer),
        sa.column("max_income_multiple_x100", sa.Integer), sa.column("min_residual_bp", sa.Integer),
        sa.column("bureau_max_age_days", sa.Integer), sa.column("required_items", sa.JSON),
        sa.column("authority", sa.JSON), sa.column("review_months", sa.JSON),
        sa.column("note", sa.String), sa.column("created_at", sa.DateTime(timezone=True)))
    op.bulk_insert(policies, [{
        "version": 1, "effective_from": date(2026, 1, 1), "max_dti_bp": 4000,
        "min_bureau_score": 600, "max_income_multiple_x100": 600, "min_residual_bp": 3000,
        "bureau_max_age_days": 90, "required_items": ["bureau", "employment", "bank"],
        "authority": {"coordinator": {"HUF": 5_000_000, "EUR": 15_000_00},
                      "manager": {"HUF": None, "EUR": None}},
        "review_months": {"high": 1, "medium": 3, "low": 12},
        "note": "Initial protocol (installed with the portal).",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }])


def _doc_types(allowed) -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_documents_doc_type'), type_='check')
        batch_op.create_check_constraint(op.f('ck_documents_doc_type'),
                                         sa.column('doc_type').in_(allowed))



def downgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_next_review_due'))
        batch_op.drop_column('language')
        batch_op.drop_column('next_review_due')
        batch_op.drop_column('risk_grade')
        batch_op.drop_column('credit_currency')
        batch_op.drop_column('credit_limit_minor')

    with op.batch_alter_table('review_obligations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_obligations_review_id'))

    op.drop_table('review_obligations')
    with op.batch_alter_table('review_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_evidence_review_id'))

    op.drop_table('review_evidence')
    with op.batch_alter_table('review_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_contacts_review_id'))

    op.drop_table('review_contacts')
    with op.batch_alter_table('credit_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_decisions_review_id'))

    op.drop_table('credit_decisions')
    with op.batch_alter_table('credit_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_reviews_status'))
        batch_op.drop_index(batch_op.f('ix_credit_reviews_prepared_by_id'))
        batch_op.drop_index(batch_op.f('ix_credit_reviews_needed_role'))
        batch_op.drop_index(batch_op.f('ix_credit_reviews_client_id'))

    op.drop_table('credit_reviews')
    with op.batch_alter_table('credit_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_policies_effective_from'))

    op.drop_table('credit_policies')
    op.execute("DELETE FROM document_versions WHERE document_id IN "
                "(SELECT id FROM documents WHERE doc_type = 'credit_decision')")
    op.execute("DELETE FROM documents WHERE doc_type = 'credit_decision'")
    _doc_types(DOC_TYPES)
