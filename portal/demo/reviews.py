"""Demo credit reviews: a few weeks of the office's work, with a review in every state.

Each story is told through ``portal.services.reviews`` as the demo staff would tell it:
"coordinator" prepares (one review "coordinator2" prepares, so that both coordinators have
something to decide) and "coordinator2" or "manager" decides, each under the default policy
(a coordinator approves up to HUF 5,000,000). Every day counts back from ``today``; the
services stamp their rows with the clock, so at the end of a story its timestamps are moved
to the days its steps happened and the queue reads like weeks of work. Bureau reports are filed
as documents of the client; income proofs and bank statements come from the client's demo
letters (``portal.demo.documents``) where there are any, and otherwise from confirmed calls.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import logging
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain.policy import Action, Item, ItemState, RiskGrade, Status
from portal.models.clients import Client, ClientKind, ClientStatus
from portal.models.credit import (
    Channel,
    ContactOutcome,
    CreditDecision,
    CreditReview,
    ObligationKind,
    ReviewKind,
)
from portal.models.documents import DocType, Document
from portal.models.users import User
from portal.services import reviews
from portal.services.base import Actor
from portal.services.documents import FileMeta, file_document
from portal.services.reviews import (
    ContactData,
    DecisionData,
    ObligationData,
    RecordFiler,
    ReviewData,
)
from portal.services.users import find_by_username
from portal.storage import Storage

log = logging.getLogger(__name__)

_TZ = ZoneInfo("Europe/Budapest")
A, C, G = Action, ContactOutcome, RiskGrade
EMP, BANK, LEND = Item.EMPLOYMENT, Item.BANK, Item.LENDERS
PHONE, EMAIL = Channel.PHONE, Channel.EMAIL


@dataclass(frozen=True)
class Call:
    """A reference contact, ``day`` days after the review was opened."""

    item: Item
    outcome: ContactOutcome
    channel: Channel = PHONE
    day: int = 1


@dataclass(frozen=True)
class Step:
    """A decision taken ``ago`` days before today by ``by``."""

    action: Action
    by: str
    ago: int
    note: str = ""
    grade: RiskGrade | None = None
    #: The share of the requested amount approved.
    share: float = 1.0


@dataclass(frozen=True)
class Story:
    """One review, from opening (``opened`` days ago) to its last step."""

    kind: ReviewKind
    opened: int
    purpose: str
    #: Gross monthly income and requested amount, in thousands of forints (from, to).
    income: tuple[int, int]
    requested: tuple[int, int]
    #: The share of income the existing obligations take a month (0: none).
    dti: tuple[float, float]
    verify: bool = True
    #: Bureau score (None: no report yet) and the report's age when it was entered, in days.
    score: tuple[int, int] | None = (640, 900)
    report_age: int = 5
    #: Items backed by the client's demo letters, where the client has them.
    letters: tuple[Item, ...] = (EMP, BANK)
    #: Call until every required reference is confirmed (by a letter or a call).
    complete: bool = True
    calls: tuple[Call, ...] = ()
    submitted: int | None = None
    steps: tuple[Step, ...] = ()
    withdrawn: tuple[int, str] | None = None
    preparer: str = "coordinator"
    #: Ask for the client's current limit (a periodic review).
    keep_limit: bool = False


_OK = "All rules pass; employment and the account confirmed."
#: The demo clients' stories, one tuple per client; the first six cover every status.
PLAN: tuple[tuple[Story, ...], ...] = (
    (Story(ReviewKind.NEW_LIMIT, 2, "Lakásfelújítás", (450, 800), (1500, 3000), (0.1, 0.25),
           verify=False, score=None, letters=(), complete=False),),
    (Story(ReviewKind.NEW_LIMIT, 9, "Autóvásárlás", (500, 900), (2000, 3500), (0.15, 0.3),
           calls=(Call(EMP, C.NO_ANSWER, PHONE, 2),), complete=False, letters=(BANK,)),),
    (Story(ReviewKind.NEW_LIMIT, 6, "Adósságkiváltás", (650, 1000), (2000, 3500), (0.15, 0.3),
           calls=(Call(LEND, C.CONFIRMED, EMAIL, 2),), submitted=2),),
    (Story(ReviewKind.NEW_LIMIT, 16, "Napelemes rendszer telepítése", (750, 1100),
           (3000, 4000), (0.1, 0.25), score=(800, 900), submitted=11,
           calls=(Call(EMP, C.NO_ANSWER, PHONE, 1),),
           steps=(Step(A.APPROVE, "coordinator2", 8, _OK, G.LOW),)),),
    (Story(ReviewKind.NEW_LIMIT, 12, "Bútor és háztartási gépek", (300, 450), (1000, 1800),
           (0.45, 0.55), score=(480, 590), submitted=8,
           steps=(Step(A.DECLINE, "coordinator2", 6,
                       "Declined: repayments already take about half of the income and the "
                       "bureau score is below the minimum. The client may apply again once the "
                       "credit card is paid off."),)),),
    (Story(ReviewKind.NEW_LIMIT, 25, "Esküvő", (400, 700), (1000, 2000), (0.05, 0.2),
           complete=False, withdrawn=(18, "Az ügyfél visszalépett, más banknál vett fel "
                                          "hitelt.")),),
    (Story(ReviewKind.NEW_LIMIT, 8, "Lakásvásárlás önrésze", (1300, 1500), (6000, 7500),
           (0.1, 0.25), calls=(Call(LEND, C.CONFIRMED, PHONE, 2),), submitted=4),),
    (Story(ReviewKind.LIMIT_INCREASE, 7, "Hitelkeret emelése", (500, 800), (2000, 3000),
           (0.42, 0.5), submitted=1),),
    (Story(ReviewKind.NEW_LIMIT, 22, "Adósságkiváltás", (450, 700), (1500, 2500),
           (0.15, 0.3), letters=(), complete=False, submitted=12,
           calls=(Call(EMP, C.CONFIRMED, PHONE, 1), Call(BANK, C.NO_ANSWER, EMAIL, 2)),
           steps=(Step(A.SEND_BACK, "coordinator2", 10,
                       "The bank has not answered and there is no statement on file: please "
                       "add the last three months' statements or confirm with the bank."),)),),
    (Story(ReviewKind.NEW_LIMIT, 9, "Vállalkozás indítása", (850, 1000), (4000, 4800),
           (0.1, 0.2), submitted=5,
           steps=(Step(A.REFER_UP, "coordinator2", 2,
                       "A large first limit for a new business; asking for a manager's "
                       "decision."),)),),
    (Story(ReviewKind.LIMIT_INCREASE, 5, "Tandíj és albérlet", (550, 850), (1500, 2500),
           (0.1, 0.3), submitted=1, preparer="coordinator2"),),
    (Story(ReviewKind.NEW_LIMIT, 24, "Lakásfelújítás", (1300, 1500), (6000, 7500), (0.1, 0.2),
           score=(700, 799), submitted=19, steps=(Step(A.APPROVE, "manager", 15,
                                     "Stabil jövedelem, a kért összeg 80%-át hagyom jóvá.",
                                     G.MEDIUM, 0.8),)),),
    (Story(ReviewKind.NEW_LIMIT, 55, "Gépjárműcsere", (450, 700), (1200, 2200), (0.25, 0.33),
           score=(610, 680), submitted=50,
           steps=(Step(A.APPROVE, "coordinator2", 45,
                       "Approved with a monthly check: score just above the minimum.",
                       G.HIGH),)),),
    (Story(ReviewKind.NEW_LIMIT, 140, "Lakásfelújítás", (600, 900), (2000, 3500),
           (0.15, 0.3), score=(700, 790), submitted=135,
           steps=(Step(A.APPROVE, "manager", 130, "Minden feltétel teljesül.", G.MEDIUM),)),
     Story(ReviewKind.PERIODIC, 6, "Negyedéves felülvizsgálat", (600, 900), (0, 0),
           (0.15, 0.3), keep_limit=True, complete=False,
           calls=(Call(EMP, C.CONFIRMED, EMAIL, 1),), letters=())),
    (Story(ReviewKind.NEW_LIMIT, 110, "Autóvásárlás", (500, 800), (1500, 2500), (0.1, 0.3),
           score=(720, 790), submitted=104,
           steps=(Step(A.APPROVE, "coordinator2", 100, _OK, G.MEDIUM),)),),
    (Story(ReviewKind.NEW_LIMIT, 30, "Nyaraló vásárlása", (800, 1000), (8000, 9500),
           (0.1, 0.2), letters=(BANK,), complete=False,
           calls=(Call(EMP, C.NOT_CONFIRMED, PHONE, 2),), submitted=24,
           steps=(Step(A.DECLINE, "manager", 20,
                       "Elutasítva: a munkáltató nem igazolta a munkaviszonyt, és a kért összeg "
                       "a havi jövedelem több mint hatszorosa."),)),),
    (Story(ReviewKind.NEW_LIMIT, 14, "Lakásfelújítás", (400, 600), (1000, 2000), (0.1, 0.3),
           report_age=130, letters=(BANK,), complete=False,
           calls=(Call(EMP, C.NOT_CONFIRMED, PHONE, 3),)),),
    (Story(ReviewKind.NEW_LIMIT, 3, "Adósságkiváltás", (350, 600), (800, 1500), (0.2, 0.3),
           verify=False, complete=False),),
)

_LENDERS = ("OTP Bank", "K&H Bank", "Erste Bank", "MBH Bank", "CIB Bank", "Raiffeisen Bank")
#: Loans per kind: their weight in the monthly payments and the balance in months of payments.
_LOANS = {ObligationKind.MORTGAGE: (3, (110, 220)), ObligationKind.PERSONAL_LOAN: (2, (18, 54)),
          ObligationKind.CAR_LOAN: (2, (24, 60))}
#: Revolving credit: the monthly payment in forints (from, to) and the balance in months of it.
_REVOLVING = {ObligationKind.CREDIT_CARD: ((8_000, 40_000), (15, 30)),
              ObligationKind.OVERDRAFT: ((4_000, 15_000), (10, 20))}
_DEBT_WORDS = {
    ObligationKind.MORTGAGE: "lakáshitel", ObligationKind.PERSONAL_LOAN: "személyi kölcsön",
    ObligationKind.CAR_LOAN: "gépjárműhitel", ObligationKind.CREDIT_CARD: "hitelkártya",
    ObligationKind.OVERDRAFT: "folyószámlahitel", ObligationKind.OTHER: "egyéb",
}
_PEOPLE = ("Fehér Judit", "Bodnár Krisztina", "Lukács Edit", "Sipos Tímea", "Vass Gabriella",
           "Halász Márta", "Pap Zsuzsanna", "Gulyás Anikó", "Deák Viktória", "Orbán Henrietta",
           "Kardos Bea", "Somogyi Ferenc", "Vincze Róbert")
_NOTES = {
    (EMP, C.CONFIRMED): "Határozatlan idejű munkaviszony, próbaidőn túl; a bruttó bér egyezik.",
    (EMP, C.NOT_CONFIRMED): "A munkáltató szerint az ügyfél már nem áll alkalmazásukban.",
    (BANK, C.CONFIRMED): "A számla évek óta aktív, rendszeres munkabér-jóváírással.",
    (LEND, C.CONFIRMED): "A tartozás és a havi törlesztő egyezik a bejelentettel, késedelem nincs.",
}
_LETTER_TYPES = {EMP: DocType.INCOME_PROOF, BANK: DocType.BANK_STATEMENT}


def seed_reviews(db: Session, storage: Storage, *, today: date, rng_seed: int = 2026) -> int:
    """Tell the demo stories for the first unrestricted demo clients; return the reviews made.

    Nothing is made when there are reviews already or the demo accounts are missing.
    """
    if db.scalar(select(CreditReview.id).limit(1)) is not None:
        log.info("credit reviews present, no demo reviews seeded")
        return 0
    staff = {}
    for name in ("coordinator", "coordinator2", "manager"):
        if (user := find_by_username(db, name)) is None:
            log.info("demo account %s missing, no demo reviews seeded", name)
            return 0
        staff[name] = user
    clients = db.scalars(select(Client).where(
        Client.restricted.is_(False), Client.kind == ClientKind.PERSON,
        Client.status != ClientStatus.CLOSED).order_by(Client.id).limit(len(PLAN))).all()
    teller = _Teller(db, storage, staff, random.Random(rng_seed), today)
    made = 0
    for client, stories in zip(clients, PLAN, strict=False):
        for story in stories:
            teller.tell(client, story)
            made += 1
    log.info("seeded %d demo credit reviews", made)
    return made


def _record_filer() -> RecordFiler | None:
    """Return the decision-record filer when the portal has one, else None."""
    name = "portal.services.decision_records"
    if importlib.util.find_spec(name) is None:
        return None
    return getattr(importlib.import_module(name), "file_decision_record", None)


class _Teller:
    """Tell stories through the services, with one generator for every made-up detail."""

    def __init__(self, db: Session, storage: Storage, staff: dict[str, User],
                 rng: random.Random, today: date) -> None:
        self.db, self.storage, self.rng, self.today = db, storage, rng, today
        self.actors = {name: Actor(user) for name, user in staff.items()}
        self.now = self.at(today, 18)
        self.filer = _record_filer()

    def at(self, day: date, hour: int) -> datetime:
        """Return a time on ``day`` at ``hour`` (office time, a few minutes past), in UTC."""
        moment = datetime.combine(day, time(hour, self.rng.randrange(0, 55)), tzinfo=_TZ)
        return moment.astimezone(UTC)

    def filer_at(self, moment: datetime) -> RecordFiler | None:
        """Return the record filer, dating the decision ``moment`` first (the record shows it)."""
        filer = self.filer
        if filer is None:
            return None

        def file(db: Session, actor: Actor, review: CreditReview,
                 decision: CreditDecision) -> int | None:
            decision.decided_at = moment
            return filer(db, actor, review, decision)

        return file

    def thousands(self, span: tuple[int, int], step: int) -> int:
        """Return forints drawn from ``span`` (thousands), a whole number of ``step`` thousands."""
        return self.rng.randint(span[0] // step, span[1] // step) * step * 1000

    def tell(self, client: Client, story: Story) -> CreditReview:
        """Open, prepare and decide one review as ``story`` says; date its steps."""
        db, rng = self.db, self.rng
        actor = self.actors[story.preparer]
        opened = self.today - timedelta(days=story.opened)
        income = client.income_minor or 0
        if not story.income[0] * 1000 <= income <= story.income[1] * 1000:
            income = self.thousands(story.income, 10)
        requested = (client.credit_limit_minor or 0) if story.keep_limit else \
            self.thousands(story.requested, 50)
        data = ReviewData(kind=story.kind, requested_minor=requested, currency="HUF",
                          purpose=story.purpose, monthly_income_minor=income,
                          obligations=self.obligations(income, story.dti))
        review = reviews.open_review(db, actor, client.id, data)
        stamps = {"created_at": self.at(opened, 9)}
        if story.verify:
            reviews.start_verification(db, actor, review.id, expected_version=review.version)
        if story.score is not None:
            report_date = opened - timedelta(days=story.report_age)
            score = rng.randint(*story.score)
            document = self.bureau_report(actor, client, review, score, report_date)
            reviews.set_bureau_report(db, actor, review.id, score=score, report_date=report_date,
                                      document_id=document.id, as_of=opened,
                                      expected_version=review.version)
        for item in story.letters:
            letter = db.scalar(select(Document.id).where(
                Document.client_id == client.id, Document.deleted_at.is_(None),
                Document.doc_type == _LETTER_TYPES[item]).order_by(Document.id).limit(1))
            if letter is not None:
                reviews.attach_evidence(db, actor, review.id, item, letter,
                                        expected_version=review.version)
        calls = list(story.calls)
        if story.complete:
            states = reviews.item_states(review)
            calls += [Call(item, C.CONFIRMED, rng.choice((PHONE, EMAIL)), 3)
                      for item in (EMP, BANK) if states[item] is not ItemState.DONE]
        for call in calls:
            self.call(actor, client, review, call, opened + timedelta(days=call.day))
        last = stamps["created_at"]
        if story.submitted is not None:
            day = self.today - timedelta(days=story.submitted)
            reviews.submit(db, actor, review.id, as_of=day, expected_version=review.version)
            stamps["submitted_at"] = last = self.at(day, 15)
        decided = []
        for number, step in enumerate(story.steps, 1):
            day = self.today - timedelta(days=step.ago)
            approved = None
            if step.action is A.APPROVE and step.share < 1:
                approved = int(review.requested_minor * step.share) // 50_000 * 50_000
            last = self.at(day, 11)
            decision = reviews.decide(
                db, self.actors[step.by], review.id,
                DecisionData(action=step.action, token=f"demo-{review.id}-{number}",
                             note=step.note, approved_minor=approved, risk_grade=step.grade),
                as_of=day, expected_version=review.version, file_record=self.filer_at(last))
            decided.append((decision, last))
        if story.withdrawn is not None:
            ago, note = story.withdrawn
            reviews.withdraw(db, actor, review.id, note=note, expected_version=review.version)
            last = self.at(self.today - timedelta(days=ago), 14)
        if review.status in (Status.APPROVED, Status.DECLINED, Status.WITHDRAWN):
            stamps["closed_at"] = last
        for decision, moment in decided:
            decision.decided_at = moment
        for evidence in review.evidence:
            evidence.added_at = stamps["created_at"] + timedelta(hours=1)
        stamps["updated_at"] = max([last, *(c.logged_at for c in review.contacts)])
        for name, value in stamps.items():
            setattr(review, name, value)
        db.flush()
        return review

    def obligations(self, income: int, dti: tuple[float, float]) -> tuple[ObligationData, ...]:
        """Make up the client's debts, taking about ``dti`` of ``income`` a month."""
        rng = self.rng
        monthly = round(income * rng.uniform(*dti) / 100) * 100
        if monthly <= 0:
            return ()
        revolving = []
        for kind in rng.sample(list(_REVOLVING), k=rng.randint(0, 2)):
            (low, high), months = _REVOLVING[kind]
            payment = min(rng.randint(low, high), monthly // 3) // 100 * 100
            monthly -= payment
            revolving.append((kind, payment, rng.randint(*months)))
        loans = rng.sample(list(_LOANS), k=rng.randint(1, 2))
        if monthly >= 150_000 and ObligationKind.MORTGAGE not in loans:
            loans[0] = ObligationKind.MORTGAGE  # a large payment is mostly a home loan
        loans.sort(key=list(_LOANS).index)
        weight = sum(_LOANS[kind][0] for kind in loans)
        debts = []
        for number, kind in enumerate(loans):
            share = monthly * _LOANS[kind][0] // weight
            payment = share // 100 * 100 if number < len(loans) - 1 else monthly
            monthly -= payment
            debts.append((kind, payment, rng.randint(*_LOANS[kind][1])))
        return tuple(ObligationData(lender=rng.choice(_LENDERS), kind=kind,
                                    outstanding_minor=payment * months // 1000 * 1000,
                                    monthly_payment_minor=payment)
                     for kind, payment, months in debts + revolving)

    def bureau_report(self, actor: Actor, client: Client, review: CreditReview, score: int,
                      report_date: date) -> Document:
        """File the credit-bureau (KHR) report the review's figures come from."""
        lines = [f"  {o.lender}: {_DEBT_WORDS[o.kind]}, fennálló tartozás "
                 f"{_ft(o.outstanding_minor)}, havi törlesztő {_ft(o.monthly_payment_minor)}"
                 for o in review.obligations]
        text = "\n".join([
            "KHR (BISZ) lekérdezés – adósminősítési jelentés", "",
            f"Ügyfél: {client.name}", f"Lekérdezés napja: {report_date:%Y. %m. %d.}",
            f"Pontszám: {score} / 1000", "Nyilvántartott szerződések:",
            *(lines or ["  nincs"]),
            "Késedelmes tartozás: " + ("nincs" if score >= 600 else "90 napon túli késedelem"),
        ]) + "\n"
        meta = FileMeta(doc_type=DocType.CREDIT_REPORT, title=f"KHR-jelentés {report_date}",
                        tags=("demo", "khr"), doc_date=report_date)
        return file_document(self.db, actor, self.storage, client.id,
                             io.BytesIO(text.encode()), f"KHR-jelentes-{report_date}.txt", meta,
                             max_bytes=10**6)

    def call(self, actor: Actor, client: Client, review: CreditReview, call: Call,
             day: date) -> None:
        """Log a contact with a reference: an HR colleague, the bank or a lender."""
        rng = self.rng
        person = rng.choice(_PEOPLE)
        note = _NOTES.get((call.item, call.outcome), "")
        if call.item is EMP and client.employer:
            who = f"{person} (HR, {client.employer})"
        elif call.item is EMP:
            who = f"{person} (könyvelő, egyéni vállalkozás)"
            if call.outcome is C.CONFIRMED:
                note = "A könyvelő a bevallás alapján igazolta a vállalkozói jövedelmet."
        elif call.item is BANK:
            who = f"{person} ({rng.choice(_LENDERS)}, számlavezető fiók)"
        else:
            lender = review.obligations[0].lender if review.obligations else _LENDERS[0]
            who = f"{person} ({lender}, hitelügyintézés)"
        if call.outcome is C.NO_ANSWER:
            note = ("Nem vették fel, visszahívást kértem." if call.channel is PHONE
                    else "A megkeresésre nem érkezett válasz.")
        contacted = min(self.at(day, rng.randint(10, 15)), self.now)
        contact = reviews.log_contact(
            self.db, actor, review.id,
            ContactData(item=call.item, contact_name=who, channel=call.channel,
                        contacted_at=contacted, outcome=call.outcome, note=note), now=self.now)
        contact.logged_at = contacted + timedelta(minutes=rng.randint(2, 30))


def _ft(amount: int) -> str:
    """Return forints the Hungarian way: ``1 250 000 Ft``."""
    return f"{amount:,} Ft".replace(",", " ")
