"""The search benchmark's queries (varied words per class, drawn deterministically) and timing."""

from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from bench import corpus, vocab
from portal.models import Client
from portal.models.documents import Document
from portal.search.backend import SearchQuery
from portal.search.whoosh_backend import WhooshBackend

#: Words an office really types: inflected and base Hungarian forms, accent-less spellings,
#: English terms, names, places and merchants.
WORDS = """hitelkártyákat törlesztőrészlet bankszámlakivonat jövedelemigazolás szerződés
kamat egyenleg késedelmi hitelképesség jelzálogjog futamidő előtörlesztés tartozás
munkáltató ingatlan kölcsön hitelbírálat nyilvántartás munkabér hitelkepesseg szerzodes
torlesztoreszlet statement payment balance interest mortgage overdraft guarantor borrower
installments repayment Kovács Horváth Debrecen Nyíregyháza TESCO ROSSMANN""".split()
#: Words typed together, per language (a Hungarian word rarely shares a document with English).
POOLS = {"hu": """hitelkártyákat törlesztőrészlet bankszámlakivonat jövedelemigazolás szerződés
kamat egyenleg késedelmi hitelképesség jelzálogjog futamidő tartozás munkáltató ingatlan
kölcsön hitelbírálat nyilvántartás munkabér hitelkepesseg szerzodes Kovács Horváth Debrecen
Szeged TESCO ROSSMANN havi nettó jövedelem ügyfél""".split(),
         "en": """statement payment balance interest mortgage overdraft borrower installments
repayment loan account closing minimum fee income Kovács Bennett Debrecen Szeged""".split()}
PHRASES = ["havi törlesztőrészlet", "záró egyenleg", "késedelmi kamatot", "ügyleti kamat",
           "aktív hitelszerződése", "helyrajzi számú ingatlanra", "nettó havi jövedelem",
           "kártyás vásárlás tesco", "minimum payment", "closing balance", "late payment fee",
           "bank statement", "proof of income", "open accounts", "monthly installments",
           "card purchase", "hitelképessége megfelelő", "outstanding balance"]
PREFIXES = """hitel* törl* bank* szerz* pay* bal* stat* kamat* egyen* igaz* jöv* kés* mort*
inst* tran* kov* deb* fiz* ügyf* hat* jelz* munk* tart* ingat* kölcs* acc* cred* int* nyil*
előt*""".split()


@dataclass(frozen=True)
class Case:
    q: str
    client_id: int | None = None
    client_number: str | None = None
    doc_types: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @property
    def params(self) -> dict:
        """The query string the search page sends for this case."""
        params: dict = {"q": self.q}
        if self.client_number:
            params["client"] = self.client_number
        if self.doc_types:
            params["doc_type"] = list(self.doc_types)
        if self.date_from:
            params["date_from"] = self.date_from.isoformat()
        if self.date_to:
            params["date_to"] = self.date_to.isoformat()
        return params


def _words(rng: random.Random, count: int) -> list[str]:
    """Return ``count`` varied words: two thirds from WORDS, the rest from the lexicon."""
    chosen = rng.sample(WORDS, min(len(WORDS), count * 2 // 3))
    forms, _ = corpus.lexicon(rng.choice(["hu", "hu", "en"]))
    mid = [f for f in forms[40:3000] if len(f) > 5]
    while len(chosen) < count:
        chosen.append(rng.choice(mid))
    rng.shuffle(chosen)
    return chosen


def _pair(rng: random.Random) -> str:
    """Return two words of one language (Hungarian seven times in ten), as a user types them."""
    return " ".join(rng.sample(POOLS["hu" if rng.random() < 0.7 else "en"], 2))


def _cycle(items: list[str], count: int, rng: random.Random) -> list[str]:
    items = items[:]
    rng.shuffle(items)
    return [items[i % len(items)] for i in range(count)]


def query_classes(db, seed: int, count: int, hidden: frozenset[int]) -> dict[str, list[Case]]:
    """Return the cases of each query class (``count`` each)."""
    rng = random.Random(f"queries-{seed}")
    names = [f'"{rng.choice(vocab.FAMILY)} {rng.choice(vocab.GIVEN)}"' for _ in range(6)]
    phrases = [f'"{p}"' for p in PHRASES] + names
    owners = sorted(set(db.scalars(select(Document.client_id).distinct())) - hidden)
    owners = rng.sample(owners, min(count, len(owners)))
    numbers = dict(db.execute(select(Client.id, Client.number).where(Client.id.in_(owners))).all())
    types = sorted(set(corpus.KINDS.values()))

    def window() -> tuple[date, date]:
        start = date(2019, 1, 1) + timedelta(days=rng.randrange(2190))
        return start, start + timedelta(days=365)

    filtered_types, filtered_clients, filtered_dates = [], [], []
    for word in _words(rng, count):
        filtered_types.append(Case(word, doc_types=(rng.choice(types),)))
    for i, word in enumerate(_words(rng, count)):
        owner = owners[i % len(owners)]
        filtered_clients.append(Case(word, client_id=owner, client_number=numbers[owner]))
    for word in _words(rng, count):
        start, end = window()
        filtered_dates.append(Case(word, date_from=start, date_to=end))
    return {
        "word": [Case(w) for w in _words(rng, count)],
        "two_words": [Case(_pair(rng)) for _ in range(count)],
        "phrase": [Case(p) for p in _cycle(phrases, count, rng)],
        "prefix": [Case(p) for p in _cycle(PREFIXES, count, rng)],
        "filtered_doc_type": filtered_types,
        "filtered_client": filtered_clients,
        "filtered_date": filtered_dates,
    }


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 1),
            "max_ms": round(ordered[-1], 1)}


def _index_files(folder: Path) -> tuple[float, int]:
    files = [p for p in folder.iterdir() if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20, sum(p.suffix == ".seg" for p in files)


def open_figures(index_dir: Path) -> dict:
    """Size of the index, and the time to open it and answer a first query in a new backend."""
    size_mb, segments = _index_files(index_dir)
    opens, firsts = [], []
    for _ in range(3):
        started = time.perf_counter()
        fresh = WhooshBackend(index_dir)
        opens.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        fresh.search(SearchQuery(text="hitelkártyákat"))
        firsts.append((time.perf_counter() - started) * 1000)
        fresh.close()
    return {"index_mb": round(size_mb, 1), "segments": segments,
            "open_ms": round(statistics.median(opens), 1),
            "first_query_ms": round(statistics.median(firsts), 1)}


def measure(browser, backend, hidden, cases, clerk_hidden=frozenset()) -> dict:
    """Time each case through the endpoint and on the bare backend (alternating who goes first).

    The backend alone is also timed without a mask and with a clerk's (every restricted client
    hidden), to show what the permission mask costs.
    """
    endpoint, bare, unmasked, totals, partial = [], [], [], [], {"endpoint": 0, "bare": 0}
    clerk = []
    headers = {"HX-Request": "true"}
    for k, case in enumerate(cases):
        query = SearchQuery(text=case.q, hidden_client_ids=hidden, client_id=case.client_id,
                            doc_types=case.doc_types, date_from=case.date_from,
                            date_to=case.date_to)
        for turn in ((0, 1) if k % 2 == 0 else (1, 0)):
            started = time.perf_counter()
            if turn == 0:
                response = browser.get("/documents/search", query_string=case.params,
                                       headers=headers)
                html = response.get_data(as_text=True)
                endpoint.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (case, response.status_code)
                partial["endpoint"] += "flash-warning" in html
            else:
                result = backend.search(query)
                bare.append((time.perf_counter() - started) * 1000)
                partial["bare"] += result.partial
                totals.append(result.total)
        for masked, samples in ((frozenset(), unmasked), (clerk_hidden, clerk)):
            started = time.perf_counter()
            backend.search(SearchQuery(text=case.q, hidden_client_ids=masked,
                                       client_id=case.client_id, doc_types=case.doc_types,
                                       date_from=case.date_from, date_to=case.date_to))
            samples.append((time.perf_counter() - started) * 1000)
    e, b = percentiles(endpoint), percentiles(bare)
    return {**{f"endpoint_{k}": v for k, v in e.items()}, **{f"bare_{k}": v for k, v in b.items()},
            "overhead_ratio": round(e["p50_ms"] / b["p50_ms"], 2),
            "bare_unmasked_p50_ms": round(statistics.median(unmasked), 1),
            "bare_clerk_p50_ms": round(statistics.median(clerk), 1),
            "hits_median": statistics.median(totals), "partial_endpoint": partial["endpoint"],
            "partial_bare": partial["bare"], "example": cases[0].q}
