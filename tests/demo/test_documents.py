"""Demo letters: filed for the first unrestricted clients, and a second run files nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.demo import seed_documents
from portal.models import Document
from tests.conftest import make_client

TODAY = date(2026, 11, 27)


def test_letters_are_filed_once_for_the_first_unrestricted_clients(app, db):
    secret = make_client(db, "Titkos Kft.", restricted=True)
    first, second = make_client(db, "Kovács Eszter"), make_client(db, "Emily Carter")
    storage = app.extensions["storage"]

    filed = seed_documents(db, storage, today=TODAY, clients=2)
    db.commit()
    documents = db.scalars(select(Document)).all()
    assert 4 <= filed == len(documents) <= 8  # two to four letters per client
    assert {d.client_id for d in documents} == {first.id, second.id}  # not the restricted one
    assert secret.id < first.id and all(d.tag_list == ["demo"] for d in documents)

    assert seed_documents(db, storage, today=TODAY, clients=2) == 0  # the same letters again
    db.commit()
    assert db.scalar(select(func.count(Document.id))) == filed
