""""Did you mean" suggests words as the documents spell them, accents and all."""

from __future__ import annotations

import io

from portal.domain.permissions import Role
from portal.models import DocType
from portal.services.base import SYSTEM
from portal.services.documents import FileMeta, file_document
from tests.conftest import make_client
from tests.views.test_documents import _search


def _file(app, db, client_id: int, text: str) -> None:
    file_document(db, SYSTEM, app.extensions["storage"], client_id, io.BytesIO(text.encode()),
                  "level.txt", FileMeta(DocType.OTHER), max_bytes=10**6)
    db.commit()


def test_did_you_mean_restores_the_accents_of_the_filed_word(app, db, staff, as_role):
    owner = make_client(db, "Betű Borbála")
    _file(app, db, owner.id, "Az ügyfél hitelképesség vizsgálata lezárult.")
    html = _search(as_role(Role.CLERK), "hitelkepeseg vizsgalata")
    assert "Did you mean" in html
    assert ">hitelképesség vizsgalata</a>" in html  # the user's own word stays as typed
    assert "hitelkepesseg" not in html
    # The suggestion finds the document.
    assert "Az ügyfél" in _search(as_role(Role.CLERK), "hitelképesség vizsgalata")


def test_the_spelling_comes_only_from_documents_the_user_may_see(app, db, staff, as_role):
    public = make_client(db, "Nyílt Nóra")
    secret = make_client(db, "Titkos Tódor", restricted=True,
                         coordinator_id=staff.coordinator.id)
    _file(app, db, public.id, "A HITELKÉPESSÉG vizsgálata.")
    _file(app, db, secret.id, "hitelkepesseg hitelkepesseg hitelkepesseg")  # typed plainly
    html = _search(as_role(Role.CLERK), "hitelkepeseg")
    assert ">hitelképesség</a>" in html  # the visible document's form, in lower case
    assert "Titkos" not in html
