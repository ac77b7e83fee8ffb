"""Filing and search figures of the document system, printed as JSON lines.

Run with ``python -m bench documents`` (``--ingest 300 --docs 20000 50000``). Two parts, each
on a fresh app (temporary SQLite database, instance, storage and index folders):

* ingest: the corpus PDFs (see ``bench.corpus``) are read with bare pypdf (``bare_pdf_text``,
  one after the other in this process), then filed and indexed through the import path of
  ``portal documents import`` (``portal.services.imports.import_files``) with one file at a
  time and with two (the command's default), each on a fresh app. A few plain-text files are
  filed after them and reported apart.
* search, per size: generated text documents (about 10 KB each) are inserted straight into the
  database and indexed with ``portal.services.search.reindex`` (timed). Each query class is then
  run through the HTTP endpoint (test client, coordinator, HX-Request, highlights) and on the
  bare ``WhooshBackend.search`` with the same words, filters and hidden clients.

Progress goes to stderr; figures, never pass/fail, to stdout.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pypdf
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from bench import corpus, vocab
from bench.queries import measure, open_figures, query_classes
from portal import create_app, migrate
from portal.domain.permissions import Role
from portal.domain.text import search_key
from portal.filing.extract import bare_pdf_text
from portal.models import Client, User
from portal.models.documents import DocType, Document, DocumentVersion, TextStatus
from portal.search.backend import SearchQuery
from portal.services import search as search_service
from portal.services.base import Actor
from portal.services.documents import FileMeta
from portal.services.imports import import_files

PASSWORD = "bench-password-1"


def add_arguments(parser) -> None:
    parser.add_argument("--ingest", type=int, default=300, help="PDFs to file (0: skip)")
    parser.add_argument("--docs", type=int, nargs="*", default=[20_000, 50_000],
                        help="index sizes for the search part (none: skip it)")
    parser.add_argument("--queries", type=int, default=30, help="queries per class")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep each size's database and index in DIR/<size> (to profile)")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="time the searches on DIR/<size> kept by an earlier --keep run")


def run(args) -> None:
    if args.ingest:
        ingest(args.ingest, args.seed)
    for size in args.docs:
        search(size, args.seed, args.queries, args.keep, args.reuse)


def say(message: str) -> None:
    """Progress for the person waiting, on stderr."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def emit(**figures) -> None:
    """Print one JSON line; ``load1`` tells how busy the machine was (it may be shared)."""
    figures["load1"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, ensure_ascii=False), flush=True)


#: Page times measure what each page does: the client list renders its results every time
#: here (kept, they are measured by ``python -m bench clientlist``).
MEASURE_WORK = {"KEEP_LIST_RESULTS": False}


def fresh_app(tmp: Path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
                      "INSTANCE_PATH": str(tmp / "instance"), "STORAGE_DIR": str(tmp / "storage"),
                      "LOGIN_RATE_LIMIT": "1000 per minute", **MEASURE_WORK})
    migrate.upgrade(app.extensions["db_engine"])
    return app


def populate_people(db, clients: int, restricted_share: float = 0.08) -> User:
    """Add the users and ``clients`` clients; return the coordinator who searches.

    Half the clients have one of four coordinators, so some restricted clients belong to the
    searching coordinator, some to colleagues and some to nobody.
    """
    rng = random.Random(7)
    password = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    users = [User(username=name, full_name=name.title(), role=role, active=True,
                  language="hu", password_hash=password)
             for name, role in [("coordinator", Role.COORDINATOR), ("manager", Role.MANAGER)]
             + [(f"coordinator{i}", Role.COORDINATOR) for i in (2, 3, 4)]]
    db.add_all(users)
    db.commit()
    coordinators = [u.id for u in users if u.role is Role.COORDINATOR]
    rows = []
    for i in range(1, clients + 1):
        name, number = f"{rng.choice(vocab.FAMILY)} {rng.choice(vocab.GIVEN)}", f"C{i:06d}"
        city = rng.choice(vocab.CITIES)
        rows.append({
            "id": i, "number": number, "kind": "person", "name": name,
            "tax_id": f"8{rng.randrange(10**8, 10**9)}", "city": city,
            "email": f"client{i}@example.hu", "phone": f"+36 30 {i:07d}",
            "phone_e164": f"+3630{i:07d}",
            "income_minor": rng.randrange(250, 1800) * 1000, "income_currency": "HUF",
            "status": "active", "restricted": rng.random() < restricted_share,
            "coordinator_id": rng.choice(coordinators) if rng.random() < 0.5 else None,
            "onboarding_due": date(2026, 1, 1) + timedelta(days=rng.randrange(60)),
            "search_text": search_key(name, number, f"client{i}@example.hu", city), "version": 1,
        })
    db.execute(insert(Client), rows)
    db.commit()
    return users[0]


# -- ingest -------------------------------------------------------------------------------------


def ingest(count: int, seed: int) -> None:
    say(f"ingest: preparing {count} PDFs (cached in {corpus.ROOT})")
    pdfs = [path for path, _ in corpus.files(count, seed, "pdf", _wrote)]
    txts = [path for path, _ in corpus.files(max(1, count // 25), seed, "txt", _wrote)]
    pages = [len(pypdf.PdfReader(path).pages) for path in pdfs]  # also warms the page cache
    for path in txts:
        path.read_bytes()
    total_pages = sum(pages)
    say(f"ingest: bare pypdf on {count} PDFs, {total_pages} pages")
    bare = []
    for path in pdfs:
        started = time.perf_counter()
        bare_pdf_text(path)
        bare.append(time.perf_counter() - started)
    bare_s = sum(bare)
    emit(bench="ingest_bare_pypdf", files=count, pages=total_pages, seconds=round(bare_s, 2),
         pages_per_s=round(total_pages / bare_s, 1), docs_per_s=round(count / bare_s, 2),
         file_p50_ms=round(statistics.median(bare) * 1000, 1))
    for jobs in (1, 2):
        say(f"ingest: the import path (portal documents import --jobs {jobs})")
        figures = _import(pdfs, jobs)
        emit(bench="ingest_pdf", files=count, pages=total_pages, jobs=jobs, **figures,
             pages_per_s=round(total_pages / figures["seconds"], 1),
             docs_per_s=round(count / figures["seconds"], 2),
             ratio_to_bare=round(figures["seconds"] / bare_s, 2))
    figures = _import(txts, 2)
    emit(bench="ingest_txt", files=len(txts), jobs=2, **figures,
         docs_per_s=round(len(txts) / figures["seconds"], 1))


def _wrote(done: int, total: int) -> None:
    say(f"  wrote {done}/{total} corpus files")


def _import(files: list[Path], jobs: int) -> dict:
    """File the files through the import path on a fresh app; return its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        app = fresh_app(Path(tmp))
        sessions = app.extensions["db_sessionmaker"]
        with sessions() as db:
            populate_people(db, 1, restricted_share=0.0)
        backend = app.extensions["search"].get()
        done = [0]

        def progress(_path: Path) -> None:
            done[0] += 1
            if done[0] % 50 == 0:
                say(f"  filed {done[0]}/{len(files)}")

        started = time.perf_counter()
        summary = import_files(sessions, app.extensions["storage"], backend, 1, files,
                               FileMeta(doc_type=DocType.OTHER),
                               max_bytes=app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
                               jobs=jobs, progress=progress)
        seconds = time.perf_counter() - started
        with sessions() as db:
            with_text = db.scalar(select(func.count()).where(
                DocumentVersion.text_status == TextStatus.TEXT))
            portal_pages = db.scalar(select(func.sum(DocumentVersion.pages)))
        indexed = backend.count()
        app.extensions["search"].close()
        app.extensions["db_engine"].dispose()
    return {"seconds": round(seconds, 2), "filed": summary.filed, "refused": len(summary.refused),
            "with_text": with_text, "portal_pages": portal_pages, "indexed": indexed}


# -- search -------------------------------------------------------------------------------------


def populate_documents(db, docs: int, seed: int, clients: int, user_id: int) -> None:
    """Insert ``docs`` generated text documents (one version each) in bulk."""
    rng = random.Random(seed)
    documents, versions = [], []
    for i, doc in enumerate(corpus.text_docs(docs, seed), 1):
        text = doc.text
        data = text.encode()
        documents.append({"id": i, "client_id": rng.randrange(1, clients + 1),
                          "doc_type": DocType(doc.doc_type), "title": doc.title,
                          "tags": "|" + "|".join(doc.tags) + "|" if doc.tags else "",
                          "doc_date": doc.doc_date, "created_by_id": user_id})
        versions.append({"document_id": i, "number": 1, "sha256": hashlib.sha256(data).hexdigest(),
                         "size": len(data), "mime": "application/pdf",
                         "original_name": f"{doc.title}.pdf", "text_status": TextStatus.TEXT,
                         "text": text, "pages": len(doc.pages), "uploaded_by_id": user_id})
        if len(documents) == 2000 or i == docs:
            db.execute(insert(Document), documents)
            db.execute(insert(DocumentVersion), versions)
            db.commit()
            documents, versions = [], []
            if i % 10_000 == 0 or i == docs:
                say(f"  inserted {i}/{docs} documents")


def _login(app):
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "coordinator", "password": PASSWORD,
                                "csrf_token": token})
    return client


def search(size: int, seed: int, per_class: int, keep: Path | None = None,
           reuse: Path | None = None) -> None:
    """Build an index of ``size`` documents (or reuse a kept one) and time the query classes."""
    if reuse:
        folder = contextlib.nullcontext(reuse / str(size))
    elif keep:
        (keep / str(size)).mkdir(parents=True)  # refuses an existing folder: never mix runs
        folder = contextlib.nullcontext(keep / str(size))
    else:
        folder = tempfile.TemporaryDirectory(prefix=f"bench-search-{size}-")
    with folder as tmp:
        app = fresh_app(Path(tmp))
        sessionmaker = app.extensions["db_sessionmaker"]
        backend = app.extensions["search"].get()
        with sessionmaker() as db:
            if reuse:
                say(f"search {size}: reusing {tmp}")
                coordinator = db.scalar(select(User).where(User.username == "coordinator"))
            else:
                coordinator = _populate_and_reindex(db, backend, size, seed)
            hidden = search_service.hidden_client_ids(db, Actor(db.get(User, coordinator.id)))
            clerk_hidden = frozenset(db.scalars(select(Client.id).where(Client.restricted)))
            index_dir = Path(app.config["SEARCH_INDEX_DIR"])
            emit(bench="index", docs=size, hidden_clients=len(hidden),
                 clerk_hidden_clients=len(clerk_hidden), **open_figures(index_dir))
            classes = query_classes(db, seed, per_class, hidden)
        browser = _login(app)
        for cases in classes.values():  # warm up: templates, translations, first postings
            browser.get("/documents/search", query_string=cases[-1].params,
                        headers={"HX-Request": "true"})
            backend.search(SearchQuery(text=cases[-1].q, hidden_client_ids=hidden))
        for name, cases in classes.items():
            say(f"search {size}: {name} ({len(cases)} queries)")
            emit(bench=f"search_{name}", docs=size, queries=len(cases),
                 **measure(browser, backend, hidden, cases, clerk_hidden))
        app.extensions["search"].close()
        app.extensions["db_engine"].dispose()


def _populate_and_reindex(db, backend, size: int, seed: int) -> User:
    """Insert the people and documents, rebuild the index (timed); return the coordinator."""
    clients = max(50, size // 10)
    say(f"search {size}: inserting {clients} clients and {size} documents")
    started = time.perf_counter()
    coordinator = populate_people(db, clients)
    populate_documents(db, size, seed, clients, coordinator.id)
    emit(bench="populate_documents", docs=size, clients=clients,
         seconds=round(time.perf_counter() - started, 1))
    done, started = [0], time.perf_counter()

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 2500 < n or done[0] == size:
            rate = done[0] / (time.perf_counter() - started)
            say(f"  reindex {done[0]}/{size} ({rate:.0f} docs/s, "
                f"~{(size - done[0]) / rate / 60:.1f} min left)")

    count = search_service.reindex(db, backend, progress=progress)
    db.commit()  # the script is the transaction boundary
    seconds = time.perf_counter() - started
    emit(bench="reindex", docs=size, indexed=count, seconds=round(seconds, 1),
         minutes=round(seconds / 60, 1), docs_per_s=round(count / seconds, 1))
    return coordinator
