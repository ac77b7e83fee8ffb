"""The data tokens of pages that keep what they rendered (``portal.changes``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class DataVersion(Base):
    """One row per watched page: a random token, replaced by every commit that writes one of
    the tables the page reads."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
