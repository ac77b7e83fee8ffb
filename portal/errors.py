"""Error pages for full-page and htmx requests alike; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.db import fail_request
from portal.rendering import render
from portal.services.base import ServiceError

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"),
          _l("The request could not be understood. Reload the page and try again.")),
    401: (_l("Please log in"), _l("Your session has ended. Log in again to continue.")),
    403: (_l("Not allowed"),
          _l("Your role does not allow this. Ask a manager if you need access.")),
    404: (_l("Not found"), _l("There is nothing at this address. It may have been removed.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    409: (_l("Changed by someone else"),
          _l("Someone else changed this record after you opened it. "
             "Reload it and make your change again.")),
    413: (_l("Too large"), _l("What you sent is larger than the portal accepts.")),
    507: (_l("Storage full"),
          _l("The document storage is full or cannot be written to, so nothing was saved. "
             "Tell the administrator; try again once space has been freed.")),
    422: (_l("Check the form"), _l("Some of what you entered needs correcting.")),
    429: (_l("Too many attempts"),
          _l("Too many attempts in a short time. Wait a minute and try again.")),
    500: (_l("Something went wrong"),
          _l("The portal could not finish this request and saved nothing of it. Try again, "
             "and tell the administrator if it happens again.")),
}


def error_response(status: int, detail: str | None = None):
    title, message = MESSAGES.get(status, MESSAGES[500])
    return render("errors/error.html", "errors/_error.html", status=status, code=status,
                  title=title, message=message, detail=detail)


def init_app(app: Flask) -> None:
    """Render every HTTP error and service error with the portal's error page."""

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        fail_request(exc)
        log.warning("CSRF refused: %s", exc.description)
        return error_response(400, exc.description)

    @app.errorhandler(ServiceError)
    def _service(exc: ServiceError):
        fail_request(exc)
        return error_response(exc.status)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if isinstance(exc, InternalServerError):
            return _internal(exc)
        fail_request(exc)
        if exc.code == 429:
            log.warning("throttled: %s %s from %s", request.method, request.path,
                        request.remote_addr)
        response = error_response(exc.code or 500)
        if exc.code == 405 and (allowed := exc.get_response().headers.get("Allow")):
            response.headers["Allow"] = allowed
        return response

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        original = getattr(exc, "original_exception", None) or exc
        fail_request(original)
        status = status_for(original)
        if status == 500:
            log.exception("unhandled error: %s", original)
        else:
            log.error("request failed (%s): %s", status, original)
        return error_response(status)


def status_for(exc: BaseException) -> int:
    """Return the status for an exception no view handled: 409 for a stale edit, 507 when the
    storage is full or read-only, 500 for anything else."""
    from sqlalchemy.orm.exc import StaleDataError

    from portal.storage import StorageUnavailable

    if isinstance(exc, StaleDataError):
        return 409
    if isinstance(exc, StorageUnavailable) or storage_errno(exc):
        return 507
    return 500


def storage_errno(exc: BaseException) -> bool:
    """Tell whether ``exc`` is a disk full or read-only file system error."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def response_for_failed_commit(exc: BaseException):
    """Answer a request whose changes could not be committed (nothing of them was saved)."""
    status = status_for(exc)
    if status == 500:
        log.exception("commit failed: %s", exc)
    else:
        log.error("commit failed (%s): %s", status, exc)
    return error_response(status)
