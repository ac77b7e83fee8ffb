"""Filing and finding documents: upload, search, document page, view, download, trash."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from flask import current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _

from portal.blueprints import actor, page_arg
from portal.blueprints.documents import bp
from portal.blueprints.documents.forms import DetailsForm, SearchForm, UploadForm
from portal.db import get_db
from portal.domain.permissions import Perm
from portal.jobs import apply_index_queue, repair_index
from portal.labels import TYPE_LABELS
from portal.models.clients import Client
from portal.models.documents import DocType, Document
from portal.rendering import render
from portal.security import requires
from portal.services import clients as clients_service
from portal.services import documents as documents_service
from portal.services import search as search_service
from portal.services.base import Conflict
from portal.services.documents import Details, FileMeta, Refused
from portal.stale import mark_changes, opened_with, remember
from portal.storage import StorageUnavailable

log = logging.getLogger(__name__)

DOC_TYPES = frozenset(t.value for t in DocType)


def _storage():
    return current_app.extensions["storage"]


def _backend():
    return current_app.extensions["search"].get()


def _max_bytes() -> int:
    return current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024


def _apply_index_work_after(response):
    """Apply queued index work once the response has gone out; never make the user wait."""
    app = current_app._get_current_object()

    def run() -> None:
        try:
            apply_index_queue(app.extensions["db_sessionmaker"], app.extensions["search"].get())
        except Exception:  # noqa: BLE001 - the queue keeps the work for the next try
            log.exception("applying index work failed; it stays queued")

    response.call_on_close(run)
    return response


@dataclass(frozen=True)
class Outcome:
    name: str
    document: Document | None = None
    refused: Refused | None = None


@bp.post("/clients/<int:client_id>/documents")
@requires(Perm.DOCUMENTS_FILE)
def upload(client_id: int):
    """File one or many uploaded files for a client; each file's outcome is reported as it is.

    Every file is read and judged first (text extraction can take seconds); then all are filed
    in the request's one transaction, each in a savepoint, so a refused file leaves nothing
    and the others are filed.
    """
    db = get_db()
    client = clients_service.get_client(db, actor(), client_id, audit_read=False)
    form = UploadForm()
    files = [f for f in request.files.getlist("files") if f.filename]
    outcomes: list[Outcome] = []
    if form.validate() and files:
        meta = FileMeta(
            doc_type=DocType(form.doc_type.data),
            title=(form.title.data or "").strip() or None if len(files) == 1 else None,
            tags=documents_service.normalise_tags(form.tags.data or ""),
            doc_date=form.doc_date.data,
        )
        read: list[tuple[int, documents_service.Incoming]] = []
        for upload_file in files:
            name = documents_service.clean_name(upload_file.filename)
            try:
                incoming = documents_service.read_upload(
                    _storage(), upload_file.stream, upload_file.filename,
                    max_bytes=_max_bytes())
            except (Refused, StorageUnavailable) as exc:
                outcomes.append(Outcome(name, refused=_as_refusal(exc)))
            else:
                read.append((len(outcomes), incoming))
                outcomes.append(Outcome(name))
        try:
            for position, incoming in read:
                try:
                    with db.begin_nested():
                        document = documents_service.file_incoming(
                            db, actor(), _storage(), client.id, incoming, meta)
                    outcomes[position] = Outcome(incoming.name, document=document)
                except (Refused, StorageUnavailable) as exc:
                    outcomes[position] = Outcome(incoming.name, refused=_as_refusal(exc))
        finally:
            for _position, incoming in read:
                _storage().discard(incoming.staged)  # a no-op for the files put in place
    elif not files:
        form.form_errors.append(_("Choose at least one file."))
    status = 200 if any(o.document for o in outcomes) else 422
    if status == 422 and any(o.refused and o.refused.reason.startswith("storage_")
                             for o in outcomes):
        status = 507
    response = render("documents/upload_results.html", "documents/_upload_results.html",
                      status=status, client=client, outcomes=outcomes, form=form)
    return _apply_index_work_after(response)


def _as_refusal(exc: Refused | StorageUnavailable) -> Refused:
    """Return the refusal to show for a file: a storage failure is one too."""
    if isinstance(exc, StorageUnavailable):
        log.error("storage unavailable (%s): %s", exc.reason, exc)
        return Refused(f"storage_{exc.reason}")
    return exc


def _search_params(form: SearchForm, db) -> tuple[search_service.DocSearch, Client | None,
                                                 search_service.ClientInQuery | None]:
    client = None
    q = (form.q.data or "").strip()
    named = None
    if form.client.data:
        client = db.scalar(clients_service.visible_clients(actor()).where(
            Client.number == form.client.data.strip().upper()))
    elif q and not request.args.get("as_text"):
        # A client's number or name typed in the box: that client's documents.
        named = search_service.client_in_query(db, actor(), q)
        if named is not None and named.client is not None:
            client, q = named.client, named.words
    params = search_service.DocSearch(
        q=q,
        client_id=client.id if client else (-1 if form.client.data else None),
        doc_types=tuple(t for t in (form.doc_type.data or []) if t in DOC_TYPES),
        tags=documents_service.normalise_tags(form.tags.data or ""),
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        sort="date" if form.sort.data == "date" or not q else "relevance",
        page=page_arg(),
    )
    return params, client, named


@bp.get("/documents/search")
@requires(Perm.DOCUMENTS_VIEW)
def search():
    """Search every document the user may see; results update as the user types."""
    db = get_db()
    form = SearchForm(request.args)
    form.validate()
    sessions, provider = current_app.extensions["db_sessionmaker"], current_app.extensions["search"]
    apply_index_queue(sessions, _backend())
    params, client, named = _search_params(form, db)
    results = search_service.search_documents(
        db, actor(), _backend(), params,
        time_limit=current_app.config["SEARCH_TIME_LIMIT_MS"] / 1000,
        repair=lambda: repair_index(sessions, provider),
    )
    partial = "documents/_client_results.html" if request.args.get("embed") else \
        "documents/_results.html"
    return render("documents/search.html", partial, form=form, results=results,
                  client=client, named=named, types=TYPE_LABELS)


@bp.get("/documents/<int:document_id>")
@requires(Perm.DOCUMENTS_VIEW)
def show(document_id: int):
    """Show a document's details, versions and extracted text (read-only from the trash)."""
    document = documents_service.viewable_document(get_db(), actor(), document_id)
    return render("documents/show.html", document=document, types=TYPE_LABELS,
                  form=UploadForm())


def _details_form(document: Document) -> DetailsForm:
    """Return the details form filled from ``document`` as it is, remembering what it shows."""
    form = DetailsForm(formdata=None)
    form.doc_type.data = document.doc_type.value
    form.title.data = document.title
    form.tags.data = ", ".join(document.tag_list)
    form.doc_date.data = document.doc_date
    remember(form)
    return form


def _details(values: dict) -> Details | None:
    """Return the details a form's values stand for (None: not details at all)."""
    try:
        doc_date = values.get("doc_date") or None
        return Details(DocType(values["doc_type"]), (values["title"] or "").strip(),
                       documents_service.normalise_tags(values.get("tags") or ""),
                       date.fromisoformat(doc_date) if doc_date else None)
    except (KeyError, TypeError, ValueError):
        return None


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
@requires(Perm.DOCUMENTS_FILE)
def edit(document_id: int):
    """Correct a filed document's type, title, tags and date, unless someone else did first."""
    db = get_db()
    document = documents_service.editable_document(db, actor(), document_id)
    if request.method == "GET":
        return render("documents/edit.html", document=document, form=_details_form(document))
    form = DetailsForm()
    if not form.validate():
        return render("documents/edit.html", status=422, document=document, form=form)
    new = Details(DocType(form.doc_type.data), form.title.data.strip(),
                  documents_service.normalise_tags(form.tags.data or ""), form.doc_date.data)
    try:
        expected = _details(opened_with(form) or {})
        if expected is None:  # a form that does not say what it showed: treat it as stale
            raise Conflict("no original values")
        documents_service.update_details(db, actor(), document.id, new, expected=expected)
    except Conflict:
        db.rollback()
        current = documents_service.editable_document(db, actor(), document_id)
        changes = mark_changes(form, _details_form(current))
        return render("documents/edit.html", status=409, document=current, form=form,
                      conflict=True, changes=changes)
    flash(_("Details saved."), "success")
    return _apply_index_work_after(redirect(url_for("documents.show", document_id=document.id)))


def _send(document_id: int, *, as_attachment: bool):
    action = "document.download" if as_attachment else "document.open"
    document = documents_service.viewable_document(get_db(), actor(), document_id,
                                                   audit_action=action)
    version = documents_service.get_version(document, request.args.get("version", type=int))
    response = send_file(
        _storage().path_for(version.sha256), mimetype=version.mime,
        as_attachment=as_attachment, download_name=version.original_name,
        conditional=True, etag=version.sha256, max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/documents/<int:document_id>/view")
@requires(Perm.DOCUMENTS_VIEW)
def view(document_id: int):
    """Open the file in the browser."""
    return _send(document_id, as_attachment=False)


@bp.get("/documents/<int:document_id>/download")
@requires(Perm.DOCUMENTS_VIEW)
def download(document_id: int):
    """Download the file under its original name."""
    return _send(document_id, as_attachment=True)


@bp.post("/documents/<int:document_id>/versions")
@requires(Perm.DOCUMENTS_FILE)
def add_version(document_id: int):
    """Upload a corrected file as a new version of the document."""
    db = get_db()
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        flash(_("Choose the corrected file first."), "error")
    else:
        try:
            with db.begin_nested():
                version = documents_service.add_version(
                    db, actor(), _storage(), document_id, upload_file.stream,
                    upload_file.filename, max_bytes=_max_bytes())
            flash(_("Version %(n)s filed.", n=version.number), "success")
        except (Refused, StorageUnavailable) as exc:
            flash(refusal_message(_as_refusal(exc)), "error")
    return _apply_index_work_after(redirect(url_for("documents.show", document_id=document_id)))


@bp.post("/documents/<int:document_id>/delete")
@requires(Perm.DOCUMENTS_FILE)
def delete(document_id: int):
    """Move a document to the trash."""
    document = documents_service.trash(get_db(), actor(), document_id)
    flash(_("“%(title)s” moved to the trash. A manager can restore it.", title=document.title),
          "info")
    response = redirect(url_for("clients.show", client_id=document.client_id))
    return _apply_index_work_after(response)


@bp.get("/documents/trash")
@requires(Perm.DOCUMENTS_TRASH)
def trash():
    """List the documents in the trash."""
    return render("documents/trash.html",
                  documents=documents_service.trashed(get_db(), actor()), types=TYPE_LABELS)


@bp.post("/documents/<int:document_id>/restore")
@requires(Perm.DOCUMENTS_TRASH)
def restore(document_id: int):
    """Bring a document back from the trash."""
    document = documents_service.restore(get_db(), actor(), document_id)
    flash(_("“%(title)s” restored.", title=document.title), "success")
    back = url_for("documents.show", document_id=document.id) \
        if request.form.get("back") == "document" else url_for("documents.trash")
    return _apply_index_work_after(redirect(back))


@bp.post("/documents/trash/empty")
@requires(Perm.DOCUMENTS_TRASH)
def empty_trash():
    """Delete every document in the trash for good."""
    count = documents_service.empty_trash(get_db(), actor(), _storage())
    flash(_("%(n)s documents deleted for good.", n=count), "info")
    return redirect(url_for("documents.trash"))


def refusal_message(refused: Refused) -> str:
    """Say in the user's language why a file was not filed."""
    limit = current_app.config["MAX_UPLOAD_MB"]
    messages = {
        "empty": _("The file is empty."),
        "type": _("Not an accepted type: PDF, PNG, JPEG, TIFF or plain text (judged by the "
                  "content, not the name)."),
        "markup": _("A web page, XML, SVG or script is not filed, even when saved as text. "
                    "Print it to PDF and upload that."),
        "mismatch": _("The name says %(claimed)s, but the file is %(actual)s. Check that you "
                      "picked the right file; if so, correct its name.",
                      claimed=kind_name(refused.claimed), actual=kind_name(refused.actual)),
        "storage_full": _("The document storage is full, so the file was not saved. Tell the "
                          "administrator; upload it again once space has been freed."),
        "storage_read_only": _("The document storage cannot be written to, so the file was "
                               "not saved. Tell the administrator."),
        "too_large": _("Larger than the %(n)s MB limit.", n=limit),
        "unreadable": _("The PDF could not be read within the limits (damaged or hostile)."),
        "duplicate": _("Already filed for this client."),
    }
    return messages.get(refused.reason, refused.reason)


def kind_name(mime: str | None) -> str:
    """Name a file kind for people: "a PDF", "plain text"."""
    return str({
        "application/pdf": _("a PDF"),
        "image/png": _("a PNG image"),
        "image/jpeg": _("a JPEG image"),
        "image/tiff": _("a TIFF image"),
        "text/plain": _("plain text"),
    }.get(mime or "", _("something else")))


@bp.app_template_global()
def refusal(refused: Refused) -> str:
    return refusal_message(refused)



