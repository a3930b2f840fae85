"""Uploaded documents (authorisation letters, licences, device sheets, paper-form scans).

At most 100 KB each (platform rule). Since version 2 of `Attachment.Uploaded` the log keeps
only the upload's SHA-256, size, media type, file name and who uploaded it; the bytes live in a
content-addressed blob store (`ledger.storage.blobs`), where an upload nothing references is
collected after the retention. Version 1 events carried the bytes inline: they still read (the
upcast keeps their `content`), and their bytes, part of the hashed log, are never collected.
"""

from __future__ import annotations

import hashlib
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.values import Actor

MAX_ATTACHMENT_BYTES = 102_400


class Attachment(Aggregate):
    class Uploaded(Aggregate.Created):
        """Version 2 leaves the bytes out (they go to the blob store, by `sha256`)."""

        class_version = 2

        sha256: str
        size: int
        media_type: str
        filename: str
        actor: Actor

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """A version 1 upload carried its bytes as `content`: the upcast keeps them (the
            only copy there is), and the aggregate takes them as its content."""
            state.setdefault("content", None)

    def __init__(
        self,
        sha256: str,
        size: int,
        media_type: str,
        filename: str,
        actor: Actor,
        content: bytes | None = None,
    ) -> None:
        self.sha256 = sha256
        self.size = size
        self.media_type = media_type
        self.filename = filename
        self.uploaded_by = actor
        # The bytes: a version 1 event's own; else filled in from the blob store on read
        # (`Ledger.get_attachment`), never kept in the aggregate's cache.
        self.content: bytes | None = content

    @classmethod
    def upload(cls, *, content: bytes, media_type: str, filename: str, actor: Actor) -> Attachment:
        """The upload's event; the caller stores `content` in the blob store under `sha256`."""
        return cls._create(
            cls.Uploaded,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            media_type=media_type,
            filename=filename,
            actor=actor,
        )


def sniff_media_type(content: bytes) -> str | None:
    """The media type the bytes really are (PDF, JPEG, PNG, XLSX or CSV), or None.

    Decided by content, never by the file name or the client's claim.
    """
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"PK\x03\x04"):
        # An OOXML workbook is a zip whose parts include this name near the start.
        return XLSX if b"[Content_Types].xml" in content or b"xl/" in content else None
    if _is_text(content):
        return "text/csv"
    return None


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _is_text(content: bytes) -> bool:
    if not content or b"\x00" in content:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False
