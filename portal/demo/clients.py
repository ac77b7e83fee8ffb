"""Demo accounts and clients: one account per role and a few hundred made-up clients."""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from portal.demo.dates import office_time
from portal.domain.identifiers import company_check_digit, person_check_digit
from portal.domain.onboarding import STEPS
from portal.domain.permissions import Role
from portal.domain.text import fold
from portal.models.clients import ClientKind, ClientStatus
from portal.models.users import User
from portal.services.base import SYSTEM
from portal.services.clients import ClientData, create_client, set_step
from portal.services.users import UserData, create_user, find_by_username

log = logging.getLogger(__name__)

#: The demo accounts: (username, role, password, full name). Passwords may not contain the
#: username (users.check_strength), hence the abbreviations.
DEMO_LOGINS: list[tuple[str, Role, str, str]] = [
    ("clerk", Role.CLERK, "clrk-demo-2026", "Kiss Anna"),
    ("coordinator", Role.COORDINATOR, "coord-demo-2026", "Nagy Péter"),
    ("coordinator2", Role.COORDINATOR, "coord2-demo-2026", "Emily Carter"),
    ("manager", Role.MANAGER, "mgr-demo-2026", "Szabó Katalin"),
    ("admin", Role.ADMIN, "adm-demo-2026", "Tóth Gábor"),
]
#: Interface language of the demo accounts; the others use Hungarian.
_ENGLISH_SPEAKERS = {"coordinator2", "admin"}
#: The account whose presence means the demo data has already been seeded.
MARKER_USERNAME = "manager"

_FAMILY = (
    "Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Varga", "Kiss", "Molnár", "Németh", "Farkas",
    "Balogh", "Papp", "Takács", "Juhász", "Mészáros", "Simon", "Rácz", "Fekete", "Szilágyi",
    "Török", "Fehér", "Balázs", "Gál", "Szűcs", "Kocsis", "Pintér", "Fodor", "Szalai", "Bíró",
    "Király", "Katona", "Hegedűs", "Szőke", "Erdős", "Vörös", "Fülöp", "Győri", "Ősz", "Kőrösi",
    "Lengyel",
)
_GIVEN = (
    "Eszter", "Anna", "Katalin", "Zsófia", "Réka", "Dóra", "Orsolya", "Ildikó", "Erzsébet",
    "Júlia", "Tünde", "Ágnes", "Éva", "Boglárka", "Emőke", "Enikő", "Hajnalka", "Krisztina",
    "Nóra", "Melinda", "Levente", "Bence", "Máté", "Dániel", "Péter", "Gábor", "Zoltán",
    "László", "István", "Ádám", "Tamás", "Attila", "Gergő", "Ödön", "Örs", "Lőrinc", "Csaba",
    "Botond", "Győző", "Kálmán",
)
_EN_GIVEN = (
    "Oliver", "Emily", "James", "Charlotte", "Harry", "Sophie", "Thomas", "Amelia", "George",
    "Grace", "William", "Lucy",
)
_EN_FAMILY = (
    "Bennett", "Hale", "Hughes", "Walker", "Wright", "Evans", "Clarke", "Turner", "Morgan",
    "Fletcher", "Ward", "Porter",
)
_REGIONS = (
    "Dunakanyar", "Alföld", "Tisza", "Balaton", "Mátra", "Bakony", "Pannon", "Hajdú", "Zemplén",
    "Kárpát", "Mecsek", "Őrség", "Kiskunság", "Hortobágy", "Vértes", "Rábaköz", "Napfény",
    "Bükk",
)
_TRADES = (
    "Építő", "Agrár", "Logisztika", "Szerviz", "Kereskedelmi", "Gépészeti", "Fuvarozó",
    "Informatikai", "Pékség", "Faipari", "Vendéglátó", "Energetikai", "Nyomda", "Autóház",
    "Könyvelő", "Ügyviteli",
)
_EN_TRADES = ("Consulting", "Logistics", "Software", "Trading", "Engineering", "Media")
_LEGAL_FORMS = (("Kft.", 70), ("Zrt.", 12), ("Bt.", 18))
#: Real postal code and city pairs; Budapest appears more often, as in life.
_PLACES = (
    ("1051", "Budapest"), ("1065", "Budapest"), ("1095", "Budapest"), ("1114", "Budapest"),
    ("1137", "Budapest"), ("1024", "Budapest"), ("1042", "Budapest"), ("1183", "Budapest"),
    ("4025", "Debrecen"), ("6720", "Szeged"), ("7621", "Pécs"), ("9021", "Győr"),
    ("3525", "Miskolc"), ("8000", "Székesfehérvár"), ("6000", "Kecskemét"),
    ("4400", "Nyíregyháza"), ("9700", "Szombathely"), ("5000", "Szolnok"), ("3300", "Eger"),
    ("8200", "Veszprém"), ("7400", "Kaposvár"), ("9400", "Sopron"), ("2100", "Gödöllő"),
    ("2000", "Szentendre"), ("5600", "Békéscsaba"), ("8900", "Zalaegerszeg"),
)
_STREETS = (
    "Kossuth Lajos utca", "Petőfi Sándor út", "Rákóczi tér", "Ady Endre utca", "Jókai Mór utca",
    "Széchenyi István tér", "Arany János utca", "Deák Ferenc tér", "Bajcsy-Zsilinszky út",
    "Dózsa György út", "Hunyadi János utca", "Fő utca", "Vörösmarty utca", "Bartók Béla út",
    "Kölcsey Ferenc utca", "Táncsics Mihály utca", "Zrínyi Miklós utca", "Béke utca",
    "Rózsa utca", "Szent István körút", "Munkácsy Mihály utca", "Erzsébet királyné útja",
)
_MOBILE_PREFIXES = ("20", "30", "70")
_STATUS_WEIGHTS = (
    (ClientStatus.PROSPECT, 15),
    (ClientStatus.ONBOARDING, 25),
    (ClientStatus.ACTIVE, 50),
    (ClientStatus.CLOSED, 10),
)
_OPEN = (ClientStatus.PROSPECT, ClientStatus.ONBOARDING)


@dataclass(frozen=True)
class SeedReport:
    """What seed_demo did: how many accounts and clients it made, or that the demo was there."""

    users_created: int
    clients_created: int
    already_present: bool


def seed_demo(
    db: Session, *, today: date, onboarding_days: int, clients: int = 200, seed: int = 2026
) -> SeedReport:
    """Create the demo accounts and ``clients`` clients, unless the demo is already there."""
    if find_by_username(db, MARKER_USERNAME) is not None:
        log.info("demo data already present, nothing seeded")
        return SeedReport(users_created=0, clients_created=0, already_present=True)
    staff, users_created = _ensure_users(db)
    pool = [u.id for u in staff if u.active and u.role in (Role.COORDINATOR, Role.MANAGER)]
    guards = [u.id for u in staff if u.active and u.role is Role.COORDINATOR] or pool
    maker = _ClientMaker(random.Random(seed))
    dates = random.Random(seed + 1)  # apart from the maker's, so the same clients come out
    for _ in range(clients):
        _seed_client(db, maker, pool, guards, today=today, onboarding_days=onboarding_days,
                     dates=dates)
    log.info("demo data seeded: %d users, %d clients", users_created, clients)
    return SeedReport(users_created=users_created, clients_created=clients, already_present=False)


def _ensure_users(db: Session) -> tuple[list[User], int]:
    """Create the demo accounts that do not exist yet; return all of them and the count made."""
    staff: list[User] = []
    created = 0
    for username, role, password, full_name in DEMO_LOGINS:
        user = find_by_username(db, username)
        if user is None:
            language = "en" if username in _ENGLISH_SPEAKERS else "hu"
            data = UserData(username=username, full_name=full_name,
                            email=f"{username}@example.hu", role=role, active=True,
                            language=language)
            user = create_user(db, SYSTEM, data, password)
            created += 1
        staff.append(user)
    return staff, created


def _seed_client(
    db: Session, maker: _ClientMaker, pool: list[int], guards: list[int], *,
    today: date, onboarding_days: int, dates: random.Random,
) -> None:
    """Create one random client dated back from today, and tick its onboarding steps.

    Active and closed clients came months or years ago; a third of the open ones a few
    weeks ago (so some onboarding is overdue), the others today."""
    rng = maker.rng
    status = rng.choices([s for s, _ in _STATUS_WEIGHTS], [w for _, w in _STATUS_WEIGHTS])[0]
    restricted = bool(guards) and rng.random() < 0.08
    coordinator_id = rng.choice(guards) if restricted else rng.choice([*pool, None])
    data = maker.client(status, coordinator_id, restricted)
    created_on = today
    if status in _OPEN and rng.random() < 1 / 3:
        created_on = today - timedelta(days=rng.randint(5, 30))
    elif status not in _OPEN:
        created_on = today - timedelta(days=dates.randint(60, 3 * 365))
    client = create_client(db, SYSTEM, data, today=created_on, onboarding_days=onboarding_days)
    client.created_at = min(office_time(created_on, 9, dates), datetime.now(UTC))
    if status in (ClientStatus.ACTIVE, ClientStatus.CLOSED):
        ticked = len(STEPS)
    elif status is ClientStatus.ONBOARDING:
        ticked = rng.randint(0, len(STEPS) - 1)  # the office works through them in order
    else:
        ticked = 0
    for step in STEPS[:ticked]:
        set_step(db, SYSTEM, client.id, step, True)


class _ClientMaker:
    """Make up client records from word lists, deterministically for a given generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._emails: set[str] = set()
        self._tax_ids: set[str] = set()
        self._companies: set[str] = set()

    def client(
        self, status: ClientStatus, coordinator_id: int | None, restricted: bool
    ) -> ClientData:
        rng = self.rng
        company = rng.random() < 0.25
        postal_code, city = rng.choice(_PLACES)
        if company:
            while (name := self.company_name()) in self._companies:
                pass
            self._companies.add(name)
            local = "-".join(_slug(word) for word in name.split()[:-1] if word != "&")
            domain = "example.com" if name.endswith("Ltd.") else "example.hu"
            tax_id, employer, income = self.company_tax_id(), None, None
            # Derived from the tax number, so the random sequence (and the rest) stays as it was.
            registration = f"{'01' if city == 'Budapest' else '09'}-09-{tax_id[1:7]}"
            revenue = (int(tax_id[:7]) % 2400 + 60) * 1_000_000
            landline = city == "Budapest" and rng.random() < 0.6
        else:
            english = rng.random() < 0.1
            if english:
                given, family = rng.choice(_EN_GIVEN), rng.choice(_EN_FAMILY)
                name, domain = f"{given} {family}", "example.com"
            else:
                given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
                name = f"{family} {given}"  # Hungarian order: family name first
                domain = rng.choice(("example.hu", "example.hu", "example.com"))
            local = f"{_slug(given)}.{_slug(family)}"
            tax_id = self.person_tax_id()
            employer = self.company_name() if rng.random() < 0.8 else None
            income = rng.randint(250, 1800) * 1000
            landline = False
            registration, revenue = None, None
        return ClientData(
            kind=ClientKind.COMPANY if company else ClientKind.PERSON,
            name=name, tax_id=tax_id, postal_code=postal_code, city=city,
            street=self.street(company), phone=self.phone(landline),
            email=self.email(local, domain),
            employer=employer, income_minor=income, income_currency="HUF", status=status,
            coordinator_id=coordinator_id, restricted=restricted,
            registration_number=registration, revenue_minor=revenue,
        )

    def company_name(self) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            first, second = rng.sample(_EN_FAMILY, 2)
            trade = rng.choice(_EN_TRADES)
            return rng.choice((f"{first} & {second} Ltd.", f"{first} {trade} Ltd."))
        form = rng.choices([f for f, _ in _LEGAL_FORMS], [w for _, w in _LEGAL_FORMS])[0]
        return f"{rng.choice(_REGIONS)} {rng.choice(_TRADES)} {form}"

    def person_tax_id(self) -> str:
        """Return a new adóazonosító jel: 8, eight digits, check digit (never 10)."""
        while True:
            first = "8" + self._digits(8)
            check = person_check_digit(first)
            if check < 10 and f"{first}{check}" not in self._tax_ids:
                self._tax_ids.add(f"{first}{check}")
                return f"{first}{check}"

    def company_tax_id(self) -> str:
        """Return a new adószám ``12345678-1-42`` with a valid 8th digit."""
        rng = self.rng
        while True:
            first = str(rng.randint(1, 2)) + self._digits(6)
            check = company_check_digit(first)
            tax_id = f"{first}{check}-{rng.randint(1, 3)}-{rng.randint(2, 44):02d}"
            if tax_id not in self._tax_ids:
                self._tax_ids.add(tax_id)
                return tax_id

    def email(self, local: str, domain: str) -> str:
        """Return ``local@domain``, numbered (``local2@``...) if that address is taken."""
        email, number = f"{local}@{domain}", 1
        while email in self._emails:
            number += 1
            email = f"{local}{number}@{domain}"
        self._emails.add(email)
        return email

    def street(self, company: bool) -> str:
        rng = self.rng
        base = f"{rng.choice(_STREETS)} {rng.randint(1, 120)}"
        roll = rng.random()
        if roll < 0.15:
            return f"{base}/{rng.choice('ABC')}"
        if roll < 0.4 and not company:
            return f"{base}. {rng.randint(1, 8)}. em. {rng.randint(1, 24)}."
        return f"{base}."

    def phone(self, landline: bool) -> str:
        rng = self.rng
        area = "1" if landline else rng.choice(_MOBILE_PREFIXES)
        return f"+36 {area} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"

    def _digits(self, count: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(count))


def _slug(text: str) -> str:
    """Return ``text`` folded to lower-case ASCII letters and digits: ``Őrség`` -> ``orseg``."""
    return re.sub(r"[^a-z0-9]+", "", fold(text))

