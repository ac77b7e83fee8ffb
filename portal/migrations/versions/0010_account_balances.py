"""each account's balance kept beside its entries, by a database trigger, for the client list
sorted by balance (a sum over a million entries per page otherwise)

Revision ID: 0010
Revises: 0009

``accounts.balance_minor`` is a cache: an AFTER INSERT trigger on ``ledger_entries`` adds each
new entry's effect on what the client owes (+ charges, fees and adjustments, − payments and
write-offs, 0 recoveries; a reversal takes back the effect of the entry it reverses), so every
way an entry is written (services, imports, the benchmark's bulk load) keeps it right; entries
are never updated or deleted (migration 0007). ``portal check`` compares it with the sum.

An index on (currency, booked on, kind, account, amount) lets the monthly sums of the KPIs
read the period in order of the day booked, without sorting the entries.

A second trigger refuses a debit (charge, fee, positive adjustment) without a due date: the
reports find the recent debits through the index on the due date.
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


#: A debit without a due date (the aging could not find it by its due date).
NO_DUE = ("NEW.due_on IS NULL AND (NEW.kind IN ('charge', 'fee') "
          "OR (NEW.kind = 'adjustment' AND NEW.amount_minor > 0))")
NO_DUE_MESSAGE = "a debit needs its due date"


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): SQLite keeps the table as it is.
    op.add_column("accounts", sa.Column("balance_minor", sa.BigInteger(), nullable=False,
                                        server_default="0"))
    op.execute(f"UPDATE accounts SET balance_minor = ({SUM})")
    op.create_index("ix_accounts_client_balance", "accounts",
                    ["client_id", "currency", "balance_minor"])
    op.create_index("ix_ledger_entries_currency_booked", "ledger_entries",
                    ["currency", "booked_on", "kind", "account_id", "amount_minor"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION ledger_entries_balance() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN {UPDATE}; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_entries_balance()")
        op.execute("CREATE FUNCTION ledger_entries_due() RETURNS trigger LANGUAGE plpgsql "
                   f"AS $$ BEGIN IF {NO_DUE} THEN RAISE EXCEPTION '{NO_DUE_MESSAGE}' "
                   "USING ERRCODE = 'check_violation'; END IF; "
                   "RETURN NEW; END $$")
        op.execute("CREATE TRIGGER ledger_entries_due BEFORE INSERT ON ledger_entries "
                   "FOR EACH ROW EXECUTE FUNCTION ledger_entries_due()")
    else:
        op.execute("CREATE TRIGGER ledger_entries_balance AFTER INSERT ON ledger_entries "
                   f"BEGIN {UPDATE}; END")
        op.execute(f"CREATE TRIGGER ledger_entries_due BEFORE INSERT ON ledger_entries "
                   f"WHEN {NO_DUE} BEGIN SELECT RAISE(ABORT, '{NO_DUE_MESSAGE}'); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("ledger_entries_balance", "ledger_entries_due"):
        op.execute(f"DROP TRIGGER {name}" + (" ON ledger_entries" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION {name}()")
    op.drop_index("ix_ledger_entries_currency_booked", table_name="ledger_entries")
    op.drop_index("ix_accounts_client_balance", table_name="accounts")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("balance_minor")
