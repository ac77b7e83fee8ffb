"""Client documents, their versions, and the queue of index work."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, str_enum, utcnow
from portal.models.clients import Client
from portal.models.users import User


class DocType(StrEnum):
    CREDIT_REPORT = "credit_report"
    IDENTITY = "identity"
    CONTRACT = "contract"
    BANK_STATEMENT = "bank_statement"
    INCOME_PROOF = "income_proof"
    CORRESPONDENCE = "correspondence"
    AGREEMENT = "agreement"
    #: A credit review's decision record, filed by the portal.
    CREDIT_DECISION = "credit_decision"
    OTHER = "other"


class TextStatus(StrEnum):
    #: Text extracted and kept in ``DocumentVersion.text``.
    TEXT = "text"
    #: A scan or image without a text layer.
    NO_TEXT = "no_text"
    #: A password-protected PDF: filed, but its text cannot be read.
    ENCRYPTED = "encrypted"


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    doc_type: Mapped[DocType] = mapped_column(str_enum(DocType, "doc_type"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    #: Lower-case tags between bars, ``|contract|2026|``, so one tag matches exactly.
    tags: Mapped[str] = mapped_column(String(500), default="")
    doc_date: Mapped[date | None] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Set when moved to the trash; a trashed document is hidden and not searchable.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    client: Mapped[Client] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", cascade="all, delete-orphan",
        order_by="DocumentVersion.number.desc()",
    )

    @property
    def current(self) -> DocumentVersion:
        """Return the newest version (versions are ordered newest first)."""
        return self.versions[0]

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split("|") if t]


class DocumentVersion(Base):
    """One uploaded file of a document; a corrected upload adds a version, never replaces one."""

    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the content, hex; the file lives at ``storage/<sha[:2]>/<sha[2:4]>/<sha>``.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    #: Type judged from the content, never from the name or the browser.
    mime: Mapped[str] = mapped_column(String(100))
    #: The file name as uploaded; metadata only, never used as a path.
    original_name: Mapped[str] = mapped_column(String(255))
    text_status: Mapped[TextStatus] = mapped_column(
        str_enum(TextStatus, "text_status"), index=True
    )
    text: Mapped[str] = mapped_column(Text, default="")
    pages: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    document: Mapped[Document] = relationship(back_populates="versions")
    uploaded_by: Mapped[User | None] = relationship()


class StoredFile(Base):
    """One file in content-addressed storage; its row is the lock that filing and removal take.

    Filing a version locks this row (creating it) before it puts the file in place; removing a
    file locks it and checks, under the lock, that no version refers to the content any more.
    So emptying the trash can never delete a file that a filing of the same content at the
    same moment is about to point at.
    """

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexTask(Base):
    """Index work recorded in the same transaction as the change; applied by any process.

    A row is deleted only after the index has committed it, so a process that dies in between
    leaves the task for the next one (applying a task twice is harmless).
    """

    __tablename__ = "index_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(Integer, index=True)
    #: "index" (add or replace) or "delete".
    action: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
