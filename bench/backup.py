"""Backup and restore figures, printed as JSON lines.

Run with ``python -m bench backup`` (``--docs 20000 --new 100 --mean-kb 150``). On a fresh
app (temporary SQLite database, instance, storage and index folders):

* ``--docs`` documents are inserted straight into the database (generated text of about
  10 KB each, as extraction leaves it) with a stored file each of random bytes (sizes spread
  around ``--mean-kb``, like scanned PDFs; random, so nothing compresses or deduplicates);
* ``portal backup`` into a fresh folder: seconds and MB/s (database dump plus files);
* ``--new`` more documents, then a second (incremental) backup into the same folder: seconds,
  files copied, and its share of the first backup's time (the target is under 5%);
* ``portal backup --verify`` of the second snapshot: seconds and MB/s;
* ``portal restore`` into a fresh instance: database and files, then the index rebuilt
  (seconds each), unless ``--no-restore``; ``--no-index`` leaves the rebuild out (inside
  ``all`` that is the default: ``python -m bench documents`` times a full rebuild).

Progress goes to stderr; figures, never pass/fail, to stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from bench import corpus
from bench.documents import emit, fresh_app, populate_people, say
from portal.backup.run import restore_snapshot, take_backup
from portal.backup.store import BackupFolder
from portal.models.documents import DocType, Document, DocumentVersion, TextStatus

CLIENTS = 2000


def add_arguments(parser, prefixed: bool = False) -> None:
    """Add this benchmark's options (``--backup-docs`` and so on inside ``all``)."""
    prefix = "--backup-" if prefixed else "--"
    dest = "backup_" if prefixed else ""
    parser.add_argument(f"{prefix}docs", dest=f"{dest}docs", type=int, default=20_000,
                        help="documents (one stored file each) in the first backup")
    parser.add_argument(f"{prefix}new", dest=f"{dest}new", type=int, default=100,
                        help="documents added before the incremental backup")
    parser.add_argument(f"{prefix}mean-kb", dest=f"{dest}mean_kb", type=int, default=150,
                        help="mean stored file size in KB")
    parser.add_argument(f"{prefix}no-restore", dest=f"{dest}no_restore", action="store_true",
                        help="skip the restore (and its index rebuild)")
    # Inside ``all`` the restore leaves the index rebuild out by default: the documents
    # benchmark times a full rebuild at 20k and 50k documents already.
    parser.add_argument(f"{prefix}index", dest=f"{dest}index", default=not prefixed,
                        action=argparse.BooleanOptionalAction,
                        help="rebuild the search index as part of the restore (timed apart)")


def run(args, prefixed: bool = False) -> None:
    get = (lambda name: getattr(args, f"backup_{name}")) if prefixed else (
        lambda name: getattr(args, name))
    measure(get("docs"), get("new"), get("mean_kb"), restore=not get("no_restore"),
            index=get("index"))


def _populate(app, start: int, count: int, mean_kb: int, user_id: int) -> int:
    """Insert ``count`` documents from id ``start + 1``, each with its file; return bytes."""
    rng = random.Random(start)
    storage = app.extensions["storage"]
    total = 0
    documents, versions = [], []
    with app.extensions["db_sessionmaker"]() as db:
        for i, doc in enumerate(corpus.text_docs(count, 1, start), start + 1):
            size = max(4096, int(rng.lognormvariate(0, 0.6) * mean_kb * 1024 / 1.2))
            data = doc.text.encode()[:1024] + rng.randbytes(size)
            sha256 = hashlib.sha256(data).hexdigest()
            path = storage.path_for(sha256)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_bytes(data)
            total += len(data)
            documents.append({"id": i, "client_id": rng.randrange(1, CLIENTS + 1),
                              "doc_type": DocType(doc.doc_type), "title": doc.title,
                              "tags": "", "doc_date": doc.doc_date, "created_by_id": user_id})
            versions.append({"document_id": i, "number": 1, "sha256": sha256,
                             "size": len(data), "mime": "application/pdf",
                             "original_name": f"{doc.title}.pdf",
                             "text_status": TextStatus.TEXT, "text": doc.text,
                             "pages": len(doc.pages), "uploaded_by_id": user_id})
            if len(documents) == 1000 or i == start + count:
                db.execute(insert(Document), documents)
                db.execute(insert(DocumentVersion), versions)
                db.commit()
                documents, versions = [], []
                if (i - start) % 5000 == 0 or i == start + count:
                    say(f"  inserted {i - start}/{count} documents")
    return total


def _stages():
    """Return a progress callback that notes when each stage started, and the notes."""
    seen: dict[str, float] = {}

    def progress(stage: str, _done: int, _total: int) -> None:
        seen.setdefault(stage, time.perf_counter())

    return progress, seen


def measure(docs: int, new: int, mean_kb: int, *, restore: bool = True,
            index: bool = True) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp_name:
        tmp = Path(tmp_name)
        app = fresh_app(tmp / "source")
        engine, storage = app.extensions["db_engine"], app.extensions["storage"]
        with app.extensions["db_sessionmaker"]() as db:
            user = populate_people(db, CLIENTS)
        say(f"writing {docs} documents with files of about {mean_kb} KB")
        file_bytes = _populate(app, 0, docs, mean_kb, user.id)
        root = tmp / "backups"

        say("first backup")
        started = time.perf_counter()
        first = take_backup(engine, storage, root)
        first_s = time.perf_counter() - started
        db_bytes = first.total_bytes - file_bytes
        emit(bench="backup", docs=docs, files=first.files, file_mb=round(file_bytes / 2**20),
             database_mb=round(db_bytes / 2**20), seconds=round(first_s, 2),
             mb_per_s=round(first.total_bytes / 2**20 / first_s, 1), complete=first.complete)

        say(f"adding {new} documents, then the incremental backup")
        _populate(app, docs, new, mean_kb, user.id)
        progress, seen = _stages()
        started = time.perf_counter()
        second = take_backup(engine, storage, root, progress=progress)
        ended = time.perf_counter()
        second_s = ended - started
        files_at = seen.get("files", ended)
        finishing_at = seen.get("finishing", ended)
        emit(bench="backup_incremental", docs=docs + new, new_docs=new,
             files_copied=second.copied, copied_mb=round(second.copied_bytes / 2**20, 1),
             seconds=round(second_s, 2), share_of_first=round(second_s / first_s, 4),
             target_share=0.05, seconds_database=round(files_at - started, 2),
             seconds_files=round(finishing_at - files_at, 2),
             seconds_manifest_and_sync=round(ended - finishing_at, 2))

        say("verifying the second snapshot")
        folder = BackupFolder(root)
        started = time.perf_counter()
        verified = folder.verify(second.name)
        verify_s = time.perf_counter() - started
        emit(bench="backup_verify", files=verified.files_checked, seconds=round(verify_s, 2),
             mb_per_s=round(second.total_bytes / 2**20 / verify_s, 1), ok=verified.ok)
        engine.dispose()
        if not restore:
            return

        say("restoring into a fresh instance (database, files, index)")
        target = fresh_app(tmp / "target")
        progress, seen = _stages()
        started = time.perf_counter()
        result = restore_snapshot(target.extensions["db_engine"], target.extensions["storage"],
                                  target.extensions["db_sessionmaker"],
                                  target.extensions["search"].get, root, second.name,
                                  reindex=index, progress=progress)
        ended = time.perf_counter()
        index_started = seen.get("search index", ended)
        emit(bench="restore", docs=docs + new, files=result.files,
             seconds_database_and_files=round(index_started - started, 2),
             mb_per_s=round(second.total_bytes / 2**20 / (index_started - started), 1),
             seconds_index=round(ended - index_started, 2) if index else None,
             seconds=round(ended - started, 2))
        target.extensions["db_engine"].dispose()
