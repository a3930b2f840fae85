"""One domain event as the contract shows it: its type name, who, when, its data and its diff.

History, audit and feed items share this shape (docs/contract.md, "History items" and "Audit and
feed"). `describe` renders one event given the system's filed fields before it, and
`fields_after` folds those fields forward, so a caller walks a system's events with both:

    fields: dict[str, Any] = {}
    for event in events:
        item = describe(event, fields)
        fields = fields_after(event, fields)

Everything returned is JSON-ready, and every ID-card and phone number in it is masked: the
personal fields by name, any number of that shape inside free text by pattern. A sealed
personal field (ledger/storage/crypto.py) is opened with the cipher the process installed
(`use_cipher`) and masked from its clear value; one that no longer opens (its person erased)
shows `ERASED`. Sealed names (a unit's contact and legal representative) show their first
character only, so no view ever holds a name or number that an erasure must come back for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, TypedDict
from uuid import UUID

from ledger import codes
from ledger.accounts import Account, Credential
from ledger.attachments import Attachment
from ledger.idempotency import IdempotencyRecord
from ledger.ids import event_id
from ledger.sequence import FilingSequence
from ledger.storage.crypto import ERASED, FieldCipher, is_sealed, sealed_hint
from ledger.systems import VideoSystem
from ledger.units import Unit
from projections.reading import Fact, fact_of_event, jsonable
from projections.reading.facts import TYPED, AccountOpened, SystemChanged, SystemFact, SystemMoved
from projections.reading.reader import recorded_at, snake_name

__all__ = [
    "BOOKKEEPING",
    "TYPES",
    "ActorInfo",
    "AuditItem",
    "ItemActor",
    "describe",
    "event_type",
    "fields_after",
    "installed_cipher",
    "jsonable",
    "masked",
    "public_id",
    "recorded_at",
    "reveal",
    "shown_class",
    "use_cipher",
]


class ItemActor(TypedDict):
    account_id: str | None
    role: str | None
    name: str | None


class ActorInfo(ItemActor):
    """Who recorded an event, with the unit they acted for and their district."""

    on_behalf_of: str | None
    division_code: str | None


class AuditItem(TypedDict):
    """One event as history, audit and feed items show it (all but its `hash`)."""

    seq: int
    type: str
    recorded_at: str
    effective_on: str | None
    actor: ItemActor
    on_behalf_of: str | None
    channel: str | None
    data: dict[str, Any]
    diff: dict[str, Any] | None


TYPES: dict[type[Any], str] = {
    VideoSystem.Filed: "filed",
    VideoSystem.DiscoveredFiled: "filed",
    VideoSystem.Discovered: "discovered",
    VideoSystem.Changed: "changed",
    VideoSystem.Cancelled: "cancelled",
    VideoSystem.Moved: "moved",
    VideoSystem.CorrectionOrdered: "correction_ordered",
    VideoSystem.Inspected: "inspected",
    Unit.Registered: "unit_registered",
    Unit.AgentAuthorised: "agent_authorised",
    Unit.PersonErased: "unit_person_erased",
    Account.Opened: "account_opened",
    Account.Erased: "account_erased",
    Attachment.Uploaded: "attachment_uploaded",
}

# Written in the same transaction as the fact they serve (a token with its account, a number
# with its filing, an idempotency key with what it created), they record no act of their own.
BOOKKEEPING: tuple[type[Any], ...] = (
    Credential.Issued,
    Account.LinkedToUnit,
    Account.UnlinkedFromUnit,
    IdempotencyRecord.Recorded,
    FilingSequence.Started,
    FilingSequence.NumberIssued,
)

# Event attributes shown as columns of the item, or never shown (the bytes of an upload).
_NOT_DATA = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "channel",
        "effective_on",
        "request_digest",
        "content",
    }
)
_PERSONAL: dict[str, Callable[[str], str]] = {
    "phone": codes.mask_phone,
    "contact_phone": codes.mask_phone,
    "id_number": codes.mask_id_card,
}


def mask_name(name: str) -> str:
    """A person's name with all but its first character hidden (`张*`, `欧阳**`)."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else name


# Fields that may hold a sealed value, and how the opened value is shown. A name stored in
# clear (a registration made before names were sealed, or with LEDGER_SEAL_NAMES off) is
# shown as it always was.
_SEALABLE: dict[str, Callable[[str], str]] = {
    **_PERSONAL,
    "contact_name": mask_name,
    "legal_representative": mask_name,
}
_cipher: FieldCipher | None = None


def use_cipher(cipher: FieldCipher | None) -> FieldCipher | None:
    """Installs the cipher this process opens sealed fields with (api/core/runtime.py installs
    the ledger's, for its views and responses alike); returns the one it replaces."""
    global _cipher
    previous, _cipher = _cipher, cipher
    return previous


def installed_cipher() -> FieldCipher | None:
    return _cipher


def reveal(value: str, field: str) -> str:
    """A field's value in clear: itself when not sealed, `ERASED` when it does not open
    (or no cipher is installed)."""
    if not is_sealed(value):
        return value
    opened = None if _cipher is None else _cipher.reveal(value, field=field)
    return ERASED if opened is None else opened


def _masked_sealed(value: str, key: str) -> str:
    """A sealed field, opened and masked, `ERASED` when it does not open; never cached (an
    erasure takes effect at once). Without a cipher, what the value shows of itself."""
    if _cipher is None:
        return sealed_hint(value)
    opened = _cipher.reveal(value, field=key)
    return ERASED if opened is None else _SEALABLE[key](opened)


# Codes that may look like personal numbers (an all-digit USCC has the shape of an ID card).
_CODES = frozenset(
    {"uscc", "unit_uscc", "filing_number", "device_id", "key", "division_code", "sha256"}
)
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_FIXED_LINE = re.compile(r"(?<![0-9-])0[0-9]{2,3}-[0-9]{7,8}(?![0-9])")
_DIGIT_RUN = re.compile(r"[0-9]{7}")


def event_type(event: Fact | Any) -> str | None:
    """The contract's name for the event; None for bookkeeping that no item shows.
    An event class this table does not know yet is shown under its snake_case name."""
    cls = event.kind if isinstance(event, Fact) else type(event)
    if issubclass(cls, BOOKKEEPING):
        return None
    return TYPES.get(cls) or snake_name(cls)


def shown_class(cls: type[Any]) -> bool:
    """Whether events of `cls` are shown as items (`event_type` is not None for them)."""
    return not issubclass(cls, BOOKKEEPING)


@lru_cache(maxsize=8192)
def scrub_text(text: str) -> str:
    """Free text with every ID-card, mobile and fixed-line number in it masked."""
    if _DIGIT_RUN.search(text) is None:  # the shortest of the three holds 7 digits in a row
        return text
    text = _ID_CARD.sub(lambda m: codes.mask_id_card(m.group()), text)
    text = _MOBILE.sub(lambda m: codes.mask_phone(m.group()), text)
    return _FIXED_LINE.sub(lambda m: codes.mask_phone(m.group()), text)


_UNMASKED = frozenset({int, float, bool, type(None)})


def masked(value: Any, key: str | None = None) -> Any:
    """`value` (JSON-ready) with personal numbers masked; `key` is the name it is held under."""
    kind = type(value)
    if kind is str:
        return _masked_text(value, key)
    if kind is dict:
        # Members inline: a call per value was most of the time this took.
        return {
            k: v if type(v) in _UNMASKED else _masked_text(v, k) if type(v) is str else masked(v, k)
            for k, v in value.items()
        }
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    if not isinstance(value, str):
        return value
    return _masked_text(value, key)


def _masked_text(value: str, key: str | None) -> str:
    """One string held under `key`, masked."""
    if key in _SEALABLE and is_sealed(value):
        return _masked_sealed(value, key)
    return _masked_plain(value, key)


@lru_cache(maxsize=8192)
def _masked_plain(value: str, key: str | None) -> str:
    """One string held under `key`, masked (a pure function of both: cached, as names,
    addresses and codes repeat from event to event)."""
    if key in _PERSONAL:
        return _PERSONAL[key](value)
    return value if key in _CODES else scrub_text(value)


def event_data(fact: Fact) -> dict[str, Any]:
    """What the event says besides who, when and how: JSON-ready, personal numbers masked."""
    # Members other than the typed ones are JSON-ready already (projections/reading).
    data = {
        k: masked(jsonable(v) if k in TYPED else v, k)
        for k, v in fact.state.items()
        if k not in _NOT_DATA
    }
    if issubclass(fact.kind, Attachment.Uploaded):
        data["attachment_id"] = masked(str(fact.originator_id), "attachment_id")
    return data


def event_actor(fact: Fact) -> ActorInfo:
    """Who recorded the event. An account opening names the account itself: units open theirs
    online, and the command line that opens police accounts records no operator."""
    actor = fact.actor
    if actor is not None:
        return {
            "account_id": actor.account_id,
            "role": str(actor.role),
            "name": actor.name,
            "on_behalf_of": actor.on_behalf_of,
            "division_code": actor.division_code,
        }
    if isinstance(fact, AccountOpened):
        return {
            "account_id": str(fact.originator_id),
            "role": fact.role,
            "name": fact.name,
            "on_behalf_of": None,
            "division_code": None,
        }
    return {
        "account_id": None,
        "role": None,
        "name": None,
        "on_behalf_of": None,
        "division_code": None,
    }


def event_diff(fact: Fact, fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """For a change, `{field: {"old", "new"}}` against the filed `fields` before it, and the
    devices added (their keys) and removed under `devices`; None for any other event."""
    if not isinstance(fact, SystemChanged | SystemMoved):
        return None
    diff: dict[str, Any] = {
        name: {"old": jsonable(fields.get(name)), "new": value}
        for name, value in fact.fields.items()
    }
    if isinstance(fact, SystemChanged) and (fact.devices_added or fact.devices_removed):
        diff["devices"] = {
            "old": None,
            "new": None,
            "added": [d["key"] for d in fact.devices_added],
            "removed": list(fact.devices_removed),
        }
    result: dict[str, Any] = masked(diff)
    return result


def fields_after(event: Fact | Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A system's filed fields (JSON-ready) after an event (its fact, or the domain event),
    given those before it."""
    fact = fact_of_event(event)
    if isinstance(fact, SystemFact):
        return {**fields, **fact.fields}
    return dict(fields)


def describe(event: Fact | Any, fields: Mapping[str, Any]) -> AuditItem:
    """The history item of one event, its fact or the domain event (all but its `hash`);
    `fields` are the system's filed fields before it (empty for an event of anything but a
    system)."""
    fact = fact_of_event(event)
    actor = event_actor(fact)
    effective_on = fact.effective_on
    channel = fact.channel
    return {
        "seq": fact.originator_version,
        "type": event_type(fact) or fact.kind.__name__,
        "recorded_at": recorded_at(fact).isoformat(),
        "effective_on": effective_on.isoformat() if effective_on is not None else None,
        "actor": {"account_id": actor["account_id"], "role": actor["role"], "name": actor["name"]},
        "on_behalf_of": actor["on_behalf_of"],
        "channel": str(channel) if channel is not None else None,
        "data": event_data(fact),
        "diff": event_diff(fact, fields),
    }


def public_id(event: Any) -> UUID:
    """The event's stable public id (see ledger.ids.event_id)."""
    return event_id(event.originator_id, event.originator_version)
