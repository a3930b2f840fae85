"""Uploaded documents (authorisation letters, licences, device sheets, paper-form scans).

The bytes live in the log with the rest: at most 100 KB each (platform rule), so the ledger
stays one self-contained, verifiable record.
"""

from __future__ import annotations

import hashlib

from eventsourcing.domain import Aggregate

from ledger.values import Actor

MAX_ATTACHMENT_BYTES = 102_400


class Attachment(Aggregate):
    class Uploaded(Aggregate.Created):
        sha256: str
        size: int
        media_type: str
        filename: str
        content: bytes
        actor: Actor

    def __init__(
        self, sha256: str, size: int, media_type: str, filename: str, content: bytes, actor: Actor
    ) -> None:
        self.sha256 = sha256
        self.size = size
        self.media_type = media_type
        self.filename = filename
        self.content = content
        self.uploaded_by = actor

    @classmethod
    def upload(cls, *, content: bytes, media_type: str, filename: str, actor: Actor) -> Attachment:
        return cls._create(
            cls.Uploaded,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            media_type=media_type,
            filename=filename,
            content=content,
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
