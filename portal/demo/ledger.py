"""Demo accounts: the clients whose credit review was approved get an account at their
approved limit, with monthly instalments charged and paid the way real clients pay: most on
time, some late, a few behind by months; a few written off in past months (charges stop then),
most with money recovered since, and one with a write-off proposal waiting for the manager.
Through the ledger services, seeded random, dated back from ``today``, so the write-offs and
recoveries by month and the bad-debt ratio show a history.
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.ledger import EntryKind
from portal.domain.money import Money
from portal.domain.policy import add_months
from portal.models.clients import Client
from portal.models.ledger import Account, AccountStatus, LedgerEntry
from portal.models.users import User
from portal.services import ledger
from portal.services.base import Actor
from portal.services.ledger import EntryData


def _actor(db: Session, username: str) -> Actor:
    return Actor(db.scalar(select(User).where(User.username == username)))


def seed_ledger(db: Session, *, today: date, rng_seed: int = 2026) -> int:
    """Open demo accounts with a year of instalments and payments; return how many accounts.

    Does nothing when any ledger entry exists already. A client whose demo credit review was
    approved has its account already (the approval opened it): its history goes there.
    """
    if db.scalar(select(LedgerEntry.id).limit(1)) is not None:
        return 0
    rng = random.Random(rng_seed)
    coordinator, manager = _actor(db, "coordinator"), _actor(db, "manager")
    limited = list(db.scalars(select(Client).where(Client.credit_limit_minor.is_not(None),
                                                   Client.restricted.is_(False))
                              .order_by(Client.id)))
    others = list(db.scalars(select(Client).where(Client.credit_limit_minor.is_(None),
                                                  Client.restricted.is_(False))
                             .order_by(Client.id).limit(20)))
    habits = (["prompt"] * 9 + ["late"] * 5 + ["behind"] * 3 + ["written_off"] * 2
              + ["proposal"])
    opened = 0
    for index, client in enumerate([*limited, *others]):
        habit = habits[index % len(habits)]
        limit = client.credit_limit_minor or rng.randrange(5, 40) * 100_000
        months = rng.randint(4, 12)
        # A written-off account: written off 2 to 5 months ago, after at least 3 months.
        written_on = None
        if habit == "written_off":
            months = max(months, 8)
            written_on = add_months(today, -rng.randint(2, 5))
        # Accounts opened on any day of the month, so due dates spread over the buckets.
        start = date.fromordinal(add_months(today, -months).toordinal() - rng.randint(0, 27))
        account = db.scalar(select(Account).where(
            Account.client_id == client.id, Account.currency == "HUF",
            Account.status == AccountStatus.OPEN).limit(1))
        if account is None:
            account = ledger.open_account(db, coordinator, client.id, currency="HUF",
                                          limit_minor=limit, opened_on=start)
        else:  # opened by the approval: its history starts earlier in the demo
            account.opened_on = min(account.opened_on, start)
        instalment = max(10_000, (limit // 24) // 1000 * 1000)
        for month in range(months + 1):
            booked = add_months(start, month)
            if booked > (written_on or today):
                break  # nothing is charged after a write-off
            due = add_months(booked, 1)
            ledger.record_entry(db, coordinator, account.id, EntryData(
                EntryKind.CHARGE, Money(instalment, "HUF"), booked, due_on=due,
                note="Havi törlesztőrészlet"), as_of=today)
            if due > today:
                continue
            if habit == "prompt" or (habit == "late" and rng.random() < 0.8):
                delay = 0 if habit == "prompt" else rng.randint(5, 40)
                paid_on = date.fromordinal(due.toordinal() - rng.randint(0, 5) + delay)
                if paid_on > today:
                    continue  # a late payer has not paid this one yet
                ledger.record_entry(db, coordinator, account.id, EntryData(
                    EntryKind.PAYMENT, Money(instalment, "HUF"), paid_on, method="transfer",
                    reference=f"{account.number} törlesztés"), as_of=today)
            elif habit in ("behind", "written_off", "proposal") and month < months // 3:
                ledger.record_entry(db, coordinator, account.id, EntryData(
                    EntryKind.PAYMENT, Money(instalment, "HUF"), due, method="transfer",
                    reference=account.number), as_of=today)
        if habit in ("written_off", "proposal"):
            decided_on = written_on or today
            owed = ledger.statement(db, coordinator, account.id, decided_on).balance
            if owed.minor > 0:
                proposal = ledger.propose_write_off(
                    db, coordinator, account.id, owed, reason="Az ügyfél hónapok óta nem "
                    "fizet, a felszólítások eredménytelenek; a követelés behajthatatlan.",
                    as_of=decided_on)
                if habit == "written_off":
                    ledger.decide_write_off(db, manager, proposal.id, approve=True,
                                            note="Jóváhagyva", as_of=decided_on)
                    # Most write-offs bring something back later, through the bailiff.
                    if rng.random() < 0.75:
                        recovered_on = add_months(decided_on, rng.randint(1, 2))
                        if recovered_on <= today:
                            ledger.record_recovery(db, coordinator, account.id, EntryData(
                                EntryKind.RECOVERY,
                                Money(min(owed.minor, instalment * rng.randint(1, 3)), "HUF"),
                                recovered_on, method="transfer",
                                reference="Végrehajtótól befolyt összeg"), as_of=today)
        opened += 1
    db.flush()
    return opened
