"""Property tests of the code validators: any text gives None or an error string, never an
exception; valid codes pass, any wrong check character fails; masks never show the number."""

from __future__ import annotations

from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger import codes

TODAY = date(2025, 5, 6)
VALIDATORS = {
    "uscc": codes.uscc_error,
    "division_code": codes.division_code_error,
    "device_id": codes.device_id_error,
    "phone": codes.phone_error,
    "id_card": lambda value: codes.id_card_error(value, today=TODAY),
}
# Text that looks like the codes: digits of every script, the code alphabets, separators.
code_like = st.text(
    alphabet=st.one_of(
        st.sampled_from("0123456789X-xABCDEFGHJKLMNPQRTUWY +"),
        st.characters(categories=["Nd"]),  # digits of any script: ٣, ３, ...
        st.characters(),
    ),
    max_size=40,
)
uscc_body = st.text(alphabet=codes.USCC_ALPHABET, min_size=17, max_size=17)
birth = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
id_body = st.builds(
    lambda area, born, serial: f"{area}{born:%Y%m%d}{serial:03d}",
    st.sampled_from(["500108", "110101", "440305"]),
    birth,
    st.integers(0, 999),
)


@settings(max_examples=400)
@given(value=code_like, name=st.sampled_from(sorted(VALIDATORS)))
@example(value="٥٠٠١٠٨١٩٨٥٠٦١٢٣٠١٨", name="id_card")
@example(value="５００１０８", name="division_code")
@example(value="ß" * 9, name="uscc")
@example(value="", name="phone")
def test_a_validator_answers_none_or_an_error_string_for_any_text(value: str, name: str) -> None:
    answer = VALIDATORS[name](value)

    assert answer is None or (isinstance(answer, str) and answer)


@given(value=code_like)
def test_masks_never_fail(value: str) -> None:
    assert isinstance(codes.mask_id_card(value), str)
    assert isinstance(codes.mask_phone(value), str)


@given(body=uscc_body)
def test_a_uscc_with_its_check_character_passes_and_any_other_fails(body: str) -> None:
    check = codes.uscc_check_char(body)

    assert codes.uscc_error(body + check) is None
    assert codes.uscc_error(f"  {(body + check).lower()} ") is None
    for wrong in set(codes.USCC_ALPHABET) - {check}:
        assert codes.uscc_error(body + wrong) is not None


@given(body=id_body)
def test_an_id_card_with_its_check_character_passes_and_any_other_fails(body: str) -> None:
    check = codes.id_card_check_char(body)
    number = body + check

    assert codes.id_card_error(number, today=TODAY) is None
    for wrong in set("0123456789X") - {check}:
        assert codes.id_card_error(body + wrong, today=TODAY) is not None
    masked = codes.mask_id_card(number)
    assert masked[:6] == number[:6] and masked[-4:] == number[-4:]
    assert number not in masked and body[6:14] not in masked


@given(number=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_mobile_number_passes_and_its_mask_hides_the_middle(number: str) -> None:
    assert codes.phone_error(number) is None
    masked = codes.mask_phone(number)
    assert masked == number[:3] + "****" + number[-4:]
