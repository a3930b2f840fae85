"""`psvs-ledger verify` and `GET /v1/ledger/verification`: one check, two ways to ask for it."""

from __future__ import annotations

from typing import Any

from api.core.database import event_tables
from api.core.runtime import Runtime
from projections.chain import ChainView
from projections.hashing import Signer
from projections.verify import Verification, verify_chain


def signer_of(rt: Runtime) -> Signer:
    """The key the chain view signs with (set on it by the runtime)."""
    slot = rt.slots[ChainView.name]
    slot.refresh()
    view = slot.view
    assert isinstance(view, ChainView) and view.signer is not None
    return view.signer


def verify(rt: Runtime) -> Verification:
    """Checks the whole log against the chain, trusting the configured key's signatures."""
    signer = signer_of(rt)
    return verify_chain(
        rt.reads,
        public_keys={signer.key_id: signer.public_key},
        events_table=event_tables(rt.ledger)[0],
    )


def public_report(result: Verification, signer: Signer) -> dict[str, Any]:
    """The verification as the API answers it."""
    body = result.as_dict()
    body["checkpoints"] = {
        **body["checkpoints"],
        "key_id": signer.key_id,
        "public_key": signer.public_key_base64,
    }
    return body


def describe(result: Verification, signer: Signer) -> list[str]:
    """Lines for the command line: the verdict first, the first bad position if any."""
    marks = result.checkpoints
    lines = [
        ("OK: the hash chain holds" if result.verified else "FAILED: the hash chain is broken"),
        f"events checked {result.events:,} of the chain up to position {result.position:,}"
        f" (log head {result.log_head:,});"
        f" {'head hash' if result.verified else 'last good hash'} {result.head_hash}",
    ]
    if not result.verified:
        lines.append(
            f"first bad position {result.first_bad_position}: {result.problem} ({result.detail})"
        )
    lines.append(
        f"checkpoints {marks.verified}/{marks.count} verified"
        + (f", last at position {marks.last_position}" if marks.last_position else "")
        + f"; key {signer.key_id}, public key (base64) {signer.public_key_base64}"
    )
    if result.unlinked:
        lines.append(
            f"{result.unlinked:,} event(s) after position {result.position:,} are not linked"
            " yet (the chain view has not reached them): not checked"
        )
    lines.append(f"{result.seconds:.2f} s, {result.events_per_second:,.0f} events/s")
    return lines
