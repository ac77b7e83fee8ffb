"""Database work for each area, called by views and by the CLI.

Every service function takes the session and the acting user (an :class:`Actor`) as
arguments and never reads Flask's request or ``current_user``.

Services ``flush()``; they never ``commit()`` or ``rollback()``: the request or the command
that called them commits once, or rolls back all of it (``portal.db``). Authorization of the
object acted on (this client, this document, this amount) is checked here, through
``portal.services.authz``, not only by the view.
"""
