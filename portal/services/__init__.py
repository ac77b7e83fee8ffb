"""Database work for each area, called by views and by the CLI.

Every service function takes the session and the acting user (an :class:`Actor`) as
arguments and never reads Flask's request or ``current_user``.
"""
