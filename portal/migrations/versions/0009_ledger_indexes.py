"""ledger index for the sums over the whole book at a million entries: the client list sorted
by balance, the aging report and the KPIs read (account, currency, kind, booked on, due on,
amount) from the index alone instead of each entry's row (about half the time on SQLite)

Revision ID: 0009
Revises: 0008

Created with ``op.create_index`` rather than batch mode, so SQLite does not copy the table
(which would drop its append-only triggers).
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NAME = "ix_ledger_entries_account_totals"
COLUMNS = ["account_id", "currency", "kind", "booked_on", "due_on", "amount_minor"]


def upgrade() -> None:
    op.create_index(NAME, "ledger_entries", COLUMNS)


def downgrade() -> None:
    op.drop_index(NAME, table_name="ledger_entries")
