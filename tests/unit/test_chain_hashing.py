"""The hash chain's recipe and the checkpoints' signatures, without a database."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from uuid import UUID

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.ids import event_id
from projections.hashing import GENESIS, Signer, key_id_of, link_hash, signature_holds
from projections.reading.canonical import dumps_with

AGGREGATE = UUID("0b6c4f0e-5a49-4d4f-9a53-2c9a1e2f7b10")
STATE = '{"name":"南坪商圈视频监控系统","storage_days":90,"longitude":106.57,"n":1.0}'.encode()
TOPIC = "ledger.systems:VideoSystem.Filed"


def _hash(state: bytes = STATE, prev: str = GENESIS, **changes: Any) -> str:
    fields: dict[str, Any] = {
        "position": 7,
        "originator_id": AGGREGATE,
        "originator_version": 2,
        "topic": TOPIC,
        "state": state,
        "prev_hash": prev,
        **changes,
    }
    return link_hash(**fields)


def test_a_link_hash_is_what_an_auditor_computes_by_hand() -> None:
    by_hand = {
        "position": 7,
        "event_id": str(event_id(AGGREGATE, 2)),
        "originator_id": str(AGGREGATE),
        "originator_version": 2,
        "topic": TOPIC,
        "state": json.loads(STATE),
        "prev_hash": GENESIS,
    }
    assert _hash() == hashlib.sha256(rfc8785.dumps(by_hand)).hexdigest()


def test_the_same_content_spaced_or_ordered_otherwise_hashes_the_same() -> None:
    respaced = json.dumps(json.loads(STATE), indent=2, sort_keys=True, ensure_ascii=True)
    assert _hash(respaced.encode()) == _hash()


def test_every_part_of_an_event_and_its_predecessor_changes_the_hash() -> None:
    original = _hash()
    changed_state = STATE.replace(b"90", b"91")
    assert _hash(changed_state) != original
    assert _hash(position=8) != original
    assert _hash(originator_version=3) != original
    assert _hash(originator_id=UUID(int=1)) != original
    assert _hash(topic="ledger.systems:VideoSystem.Changed") != original
    assert _hash(prev="1" * 64) != original


def test_a_state_that_is_not_json_is_hashed_as_its_base64() -> None:
    awkward = (b"\xff\xfe not utf-8", b"not json", b'{"x": NaN}', b'{"x": 12345678901234567890}')
    for state in awkward:
        expected: dict[str, Any] = {
            "position": 7,
            "event_id": str(event_id(AGGREGATE, 2)),
            "originator_id": str(AGGREGATE),
            "originator_version": 2,
            "topic": TOPIC,
            "state_base64": base64.b64encode(state).decode(),
            "prev_hash": GENESIS,
        }
        assert _hash(state) == hashlib.sha256(rfc8785.dumps(expected)).hexdigest(), state


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_json_values)
def test_the_fast_canonical_form_is_byte_for_byte_rfc8785(value: Any) -> None:
    members: dict[str, Any] = {"position": 1, "topic": "t"}
    text = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        expected = rfc8785.dumps({**members, "state": json.loads(text)})
    except (rfc8785.CanonicalizationError, ValueError):
        return  # e.g. a lone surrogate: both refuse, and the link falls back to base64
    assert dumps_with(members, key="state", json_bytes=text) == expected


def test_awkward_numbers_and_characters_match_rfc8785() -> None:
    for literal in (
        "5.0",
        "-0.0",
        "1e-7",
        "0.0001",
        "1e21",
        "9007199254740993.0",
        "1.5e300",
        '"\\ud83d\\ude00"',
        '"😀"',
        '{"\\ue000":1,"😀":2}',
        '"\\u001f\\u007f"',
    ):
        expected = rfc8785.dumps({"state": json.loads(literal)})
        assert dumps_with({}, key="state", json_bytes=literal.encode()) == expected, literal


def test_a_checkpoint_signature_holds_only_for_what_was_signed() -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    signature = signer.sign_checkpoint(position=1000, events=990, head_hash="a" * 64)
    signed: dict[str, Any] = {
        "position": 1000,
        "events": 990,
        "head_hash": "a" * 64,
        "key_id": signer.key_id,
    }
    assert signature_holds(signer.public_key, **signed, signature=signature)
    assert signer.key_id == key_id_of(signer.public_key)
    change: dict[str, Any]
    for change in (
        {"position": 1001},
        {"events": 991},
        {"head_hash": "b" * 64},
        {"key_id": "0" * 16},
    ):
        assert not signature_holds(
            signer.public_key, **{**signed, **change}, signature=signature
        ), change
    other = Signer(Ed25519PrivateKey.generate())
    assert not signature_holds(other.public_key, **signed, signature=signature)
    assert not signature_holds(signer.public_key, **signed, signature="not base64!")
