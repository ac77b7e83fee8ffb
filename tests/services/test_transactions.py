"""One transaction per request or command: a change writes all of its rows, files, index work
and audit entries, or none of them; stored files survive every interleaving of filing and
emptying the trash."""

from __future__ import annotations

import io
import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.db import transaction
from portal.domain.money import Money
from portal.domain.permissions import Perm, Role
from portal.models import (
    AuditEvent,
    Client,
    ClientKind,
    ClientStatus,
    Document,
    IndexTask,
    StoredFile,
    User,
)
from portal.models.documents import DocType
from portal.services import audit, authz, files
from portal.services import documents as documents_service
from portal.services.base import SYSTEM, Actor, Forbidden
from portal.services.check import check
from portal.services.clients import ClientData, create_client
from portal.services.documents import FileMeta, file_document
from portal.storage import Storage
from tests.conftest import make_client, make_user

CONTENT = b"Fizetesi megallapodas, 12 havi reszlet. Payment agreement, 12 instalments."


def _count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _file(sessions, storage, client_id, content=CONTENT, name="agreement.txt"):
    with transaction(sessions) as db:
        return file_document(db, SYSTEM, storage, client_id, io.BytesIO(content), name,
                             FileMeta(DocType.AGREEMENT), max_bytes=10**6).id


class Boom(Exception):
    pass


def _explode_on(monkeypatch, module, name, *, after: int = 0):
    """Make ``module.name`` raise Boom on its call number ``after + 1``."""
    real = getattr(module, name)
    calls = []

    def exploding(*args, **kwargs):
        calls.append(1)
        if len(calls) > after:
            raise Boom(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, exploding)


def test_an_error_after_the_first_write_of_a_filing_leaves_no_trace(app, db, monkeypatch):
    client = make_client(db, "Atom Aladár")
    storage: Storage = app.extensions["storage"]
    # The document and its version are flushed and its file is put in place before the
    # audit row is written: make that last write fail.
    _explode_on(monkeypatch, audit, "record")
    with pytest.raises(Boom):
        _file(app.extensions["db_sessionmaker"], storage, client.id)
    assert _count(db, Document) == 0 and _count(db, IndexTask) == 0
    assert _count(db, AuditEvent) == 0 and _count(db, StoredFile) == 0
    assert list(storage.stored()) == [] and list(storage.tmp.iterdir()) == []


def test_an_error_after_the_first_write_of_a_new_client_leaves_no_trace(app, db, monkeypatch):
    data = ClientData(kind=ClientKind.PERSON, name="Félkész Ferenc", tax_id=None,
                      postal_code=None, city=None, street=None, phone=None, email=None,
                      employer=None, income_minor=None, income_currency="HUF",
                      status=ClientStatus.PROSPECT)
    _explode_on(monkeypatch, audit, "record")
    with pytest.raises(Boom), transaction(app.extensions["db_sessionmaker"]) as session:
        create_client(session, SYSTEM, data, today=date(2026, 11, 30), onboarding_days=10)
    assert _count(db, Client) == 0 and _count(db, AuditEvent) == 0


def test_an_error_halfway_through_emptying_the_trash_keeps_every_row_and_file(app, db,
                                                                              monkeypatch):
    client = make_client(db, "Kuka Kornélia")
    sessions = app.extensions["db_sessionmaker"]
    storage: Storage = app.extensions["storage"]
    ids = [_file(sessions, storage, client.id, CONTENT + str(i).encode(), f"{i}.txt")
           for i in range(3)]
    with transaction(sessions) as session:
        for doc_id in ids:
            documents_service.trash(session, SYSTEM, doc_id)
    _explode_on(monkeypatch, audit, "record", after=1)  # the second purge's audit row fails
    with pytest.raises(Boom), transaction(sessions) as session:
        documents_service.empty_trash(session, SYSTEM, storage)
    assert _count(db, Document) == 3
    assert _count(db, AuditEvent, AuditEvent.action == "document.purge") == 0
    assert len(list(storage.stored())) == 3
    assert check(db, storage, app.extensions["search"].get()).missing_files == []


def test_emptying_the_trash_while_the_same_content_is_filed_keeps_the_file(app, db,
                                                                           monkeypatch):
    """Force the interleaving that lost a file: the trash's rows are committed and it is about
    to decide whether the file is still needed, while a filing of the same content for
    another client has written its rows but not committed them yet."""
    sessions = app.extensions["db_sessionmaker"]
    storage: Storage = app.extensions["storage"]
    old_owner = make_client(db, "Régi Rozália")
    new_owner = make_client(db, "Új Ubul")
    old_doc = _file(sessions, storage, old_owner.id)
    with transaction(sessions) as session:
        documents_service.trash(session, SYSTEM, old_doc)
    sha256 = next(storage.stored())

    trash_committed = threading.Event()
    filing_written = threading.Event()
    #: The removal has asked for the file's lock, or gone ahead and removed the file.
    removal_moved = threading.Event()
    real_release, real_lock, real_remove = files.release, files.lock, storage.remove

    def release_when_told(engine, storage_, digests):
        trash_committed.set()
        assert filing_written.wait(60), "the filing never got its turn"
        return real_release(engine, storage_, digests)

    def lock(session, digest):
        if threading.current_thread() is emptier:
            removal_moved.set()  # from here on it waits for the filing's lock, if it must
        return real_lock(session, digest)

    def remove(digest):
        removal_moved.set()
        return real_remove(digest)

    monkeypatch.setattr(files, "release", release_when_told)
    monkeypatch.setattr(files, "lock", lock)
    monkeypatch.setattr(storage, "remove", remove)
    errors: list[BaseException] = []

    def empty_the_trash() -> None:
        try:
            with transaction(sessions) as session:
                documents_service.empty_trash(session, SYSTEM, storage)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            trash_committed.set()
            removal_moved.set()

    emptier = threading.Thread(target=empty_the_trash)
    emptier.start()
    assert trash_committed.wait(60) and not errors
    assert _count(db, Document) == 0  # the old document's rows are gone for good
    filing = sessions()
    try:
        new_doc = file_document(filing, SYSTEM, storage, new_owner.id, io.BytesIO(CONTENT),
                                "agreement.txt", FileMeta(DocType.AGREEMENT), max_bytes=10**6)
        filing_written.set()
        # Let the removal decide first: without a lock it would see no reference (this
        # transaction is not committed) and delete the file; with it, it waits for this commit.
        assert removal_moved.wait(60)
        filing.commit()
    finally:
        filing_written.set()
        filing.close()
    emptier.join(60)
    assert not emptier.is_alive() and errors == []
    assert storage.exists(sha256), "the new document's file was deleted"
    report = check(db, storage, app.extensions["search"].get())
    assert report.missing_files == [] and report.orphan_files == []
    assert db.get(Document, new_doc.id) is not None


def test_content_removed_by_the_trash_is_stored_again_by_a_later_filing(app, db):
    sessions = app.extensions["db_sessionmaker"]
    storage: Storage = app.extensions["storage"]
    first, second = make_client(db, "Első Elek"), make_client(db, "Második Mária")
    doc = _file(sessions, storage, first.id)
    with transaction(sessions) as session:
        documents_service.trash(session, SYSTEM, doc)
    with transaction(sessions) as session:
        documents_service.empty_trash(session, SYSTEM, storage)
    assert list(storage.stored()) == [] and _count(db, StoredFile) == 0
    _file(sessions, storage, second.id)
    assert len(list(storage.stored())) == 1 and _count(db, StoredFile) == 1


def test_a_shared_file_stays_while_another_document_refers_to_it(app, db):
    sessions = app.extensions["db_sessionmaker"]
    storage: Storage = app.extensions["storage"]
    first, second = make_client(db, "Közös Kata"), make_client(db, "Közös Kálmán")
    doc = _file(sessions, storage, first.id)
    _file(sessions, storage, second.id)
    with transaction(sessions) as session:
        documents_service.trash(session, SYSTEM, doc)
    with transaction(sessions) as session:
        documents_service.empty_trash(session, SYSTEM, storage)
    assert len(list(storage.stored())) == 1 and _count(db, Document) == 1


# Object-level authorization in the services ------------------------------------------------


@pytest.fixture
def people(db):
    return {role: make_user(db, role.value, role) for role in Role}


def test_services_refuse_what_the_role_may_not_do_whoever_calls_them(app, db, people):
    client = make_client(db, "Védett Vilma")
    sessions = app.extensions["db_sessionmaker"]
    storage: Storage = app.extensions["storage"]
    doc = _file(sessions, storage, client.id)
    clerk, admin = Actor(people[Role.CLERK]), Actor(people[Role.ADMIN])
    with pytest.raises(Forbidden), transaction(sessions) as session:
        documents_service.trash(session, admin, doc)
    with transaction(sessions) as session:
        documents_service.trash(session, clerk, doc)  # a clerk files and trashes
    with pytest.raises(Forbidden), transaction(sessions) as session:
        documents_service.restore(session, clerk, doc)
    with pytest.raises(Forbidden), transaction(sessions) as session:
        documents_service.empty_trash(session, clerk, storage)
    with pytest.raises(Forbidden), transaction(sessions) as session:
        documents_service.trashed(session, clerk)
    assert _count(db, Document, Document.deleted_at.is_not(None)) == 1


def test_a_restricted_clients_document_is_refused_and_the_attempt_kept(app, db, people):
    coordinator = people[Role.COORDINATOR]
    other = make_user(db, "other_coordinator", Role.COORDINATOR)
    client = make_client(db, "Titkos Tivadar", restricted=True, coordinator_id=coordinator.id)
    sessions = app.extensions["db_sessionmaker"]
    doc = _file(sessions, app.extensions["storage"], client.id)
    with pytest.raises(Forbidden), transaction(sessions) as session:
        documents_service.trash(session, Actor(other, "10.0.0.9"), doc)
    assert _count(db, Document, Document.deleted_at.is_not(None)) == 0
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "client.view_denied"))
    assert [(e.actor, e.object_id, e.ip) for e in denied] == [
        ("other_coordinator", client.id, "10.0.0.9")]


def test_user_administration_is_refused_to_everyone_but_administrators(app, db, people):
    from portal.services import users as users_service
    from portal.services.users import UserData

    sessions = app.extensions["db_sessionmaker"]
    target = people[Role.CLERK]
    data = UserData(username="clerk", full_name="Promoted", email=None, role=Role.MANAGER,
                    active=True, language=None)
    for role in (Role.CLERK, Role.COORDINATOR, Role.MANAGER):
        actor = Actor(people[role])
        with pytest.raises(Forbidden), transaction(sessions) as session:
            users_service.update_user(session, actor, target.id, data)
        with pytest.raises(Forbidden), transaction(sessions) as session:
            users_service.set_password(session, actor, target.id, "a-new-password-2026")
        with pytest.raises(Forbidden), transaction(sessions) as session:
            users_service.create_user(session, actor, UserData(
                username="intruder", full_name="X", email=None, role=Role.ADMIN, active=True,
                language=None), "a-new-password-2026")
    db.expire_all()
    assert db.get(User, target.id).role is Role.CLERK
    assert db.scalar(select(User).where(User.username == "intruder")) is None
    with transaction(sessions) as session:
        users_service.update_user(session, Actor(people[Role.ADMIN]), target.id, data)
    db.expire_all()
    assert db.get(User, target.id).role is Role.MANAGER


def test_an_amount_is_allowed_only_within_the_actors_limit(db, people):
    coordinator = Actor(people[Role.COORDINATOR])
    limit = {Role.COORDINATOR: Money(1_000_000_00, "HUF"), Role.MANAGER: None}

    def limit_of(actor: Actor):
        return limit.get(actor.role, Money(0, "HUF"))

    authz.require(coordinator, Perm.CLIENTS_EDIT, amount=Money(1_000_000_00, "HUF"),
                  limit=limit_of)
    with pytest.raises(Forbidden):
        authz.require(coordinator, Perm.CLIENTS_EDIT, amount=Money(1_000_000_01, "HUF"),
                      limit=limit_of)
    with pytest.raises(Forbidden):  # another currency is never compared as if it were HUF
        authz.require(coordinator, Perm.CLIENTS_EDIT, amount=Money(5, "EUR"), limit=limit_of)
    with pytest.raises(Forbidden):  # an amount with nothing to check it against
        authz.require(coordinator, Perm.CLIENTS_EDIT, amount=Money(1, "HUF"))
    authz.require(Actor(people[Role.MANAGER]), Perm.CLIENTS_EDIT,
                  amount=Money(10**12, "HUF"), limit=limit_of)
    authz.require(SYSTEM, Perm.USERS_MANAGE, amount=Money(10**12, "HUF"))


def test_client_services_refuse_a_role_without_the_permission(app, db, people):
    from portal.domain.onboarding import Step
    from portal.services.clients import set_step, update_client

    sessions = app.extensions["db_sessionmaker"]
    client = make_client(db, "Ügyfél Ügyes")
    admin = Actor(people[Role.ADMIN])
    data = ClientData(kind=ClientKind.PERSON, name="Renamed", tax_id=None, postal_code=None,
                      city=None, street=None, phone=None, email=None, employer=None,
                      income_minor=None, income_currency="HUF", status=ClientStatus.ACTIVE)
    with pytest.raises(Forbidden), transaction(sessions) as session:
        create_client(session, admin, data, today=date(2026, 11, 30), onboarding_days=10)
    with pytest.raises(Forbidden), transaction(sessions) as session:
        update_client(session, admin, client.id, data, expected_version=client.version)
    with pytest.raises(Forbidden), transaction(sessions) as session:
        set_step(session, admin, client.id, Step.IDENTITY_VERIFIED, True)
    assert _count(db, Client) == 1 and db.get(Client, client.id).name == "Ügyfél Ügyes"
