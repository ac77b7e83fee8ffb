"""each account's balance kept beside its entries, by a database trigger, for the client list
sorted by balance (a sum over a million entries per page otherwise)

Revision ID: 0010
Revises: 0009

``accounts.balance_minor`` is a cache: an AFTER INSERT trigger on ``ledger_entries`` adds each
new entry's effect on what the client owes (+ charges, fees and adjustments, − payments and
write-offs, 0 recoveries; a reversal takes back the effect of the entry it reverses), so every
way an entry is written (services, imports, the benchmark's bulk load) keeps it right; entries
are never updated or deleted (migration 0007). ``portal check`` compares it with the sum.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

#: The effect of the entry ``e`` on the balance, as in ``portal.domain.ledger.Entry.signed``.
SIGNED = ("CASE WHEN {e}.kind IN ('charge', 'fee', 'adjustment') THEN {e}.amount_minor "
          "WHEN {e}.kind IN ('payment', 'write_off') THEN -{e}.amount_minor ELSE 0 END")

#: The change an inserted entry (NEW) makes: its own effect, or minus its target's.
DELTA = ("CASE WHEN NEW.kind = 'reversal' THEN -(SELECT " + SIGNED.format(e="t")
         + " FROM ledger_entries t WHERE t.id = NEW.reverses_id) ELSE "
         + SIGNED.format(e="NEW") + " END")

UPDATE = f"UPDATE accounts SET balance_minor = balance_minor + ({DELTA}) WHERE id = NEW.account_id"

#: Every account's balance from its entries (the fill, and what ``portal check`` compares).
SUM = ("SELECT COALESCE(SUM(" + SIGNED.format(e="e") + "), 0) FROM ledger_entries e "
       "WHERE e.account_id = accounts.id AND NOT EXISTS (SELECT 1 FROM ledger_entries r "
       "WHERE r.reverses_id = e.id)")


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite keeps the table as it is.
    op.add_column("accounts", sa.Column("balance_minor", sa.BigInteger(), nullable=False,
                                        server_default="0"))
    op.execute(f"UPDATE accounts SET balance_minor = ({SUM})")
    op.create_index("ix_accounts_client_balance", "accounts",
                    ["client_id", "currency", "balance_minor"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION ledger_entries_balance() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN {UPDATE}; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_entries_balance()")
    else:
        op.execute("CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries "
                   f"BEGIN {UPDATE}; END")


def downgrade() -> None:
    op.execute("DROP TRIGGER ledger_entries_balance" + (
        " ON ledger_entries" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION ledger_entries_balance()")
    op.drop_index("ix_accounts_client_balance", table_name="accounts")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("balance_minor")
