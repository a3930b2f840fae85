"""Code validators: USCC, resident ID card, GB/T 28181 device ID, division code, phones."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from ledger.codes import (
    device_id_error,
    division_code_error,
    id_card_check_char,
    id_card_error,
    mask_id_card,
    mask_phone,
    normalise_id_card,
    normalise_uscc,
    phone_error,
    uscc_check_char,
    uscc_error,
)

TODAY = date(2025, 6, 1)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(body17: str) -> str:
    return body17 + uscc_check_char(body17)


def make_id_card(body17: str) -> str:
    return body17 + id_card_check_char(body17)


def id_body_with_check_x() -> str:
    """A 17-digit body (Nan'an district, born 1985-03-12) whose check character is X."""
    return next(
        body for seq in range(1000) if id_card_check_char(body := f"50010819850312{seq:03d}") == "X"
    )


# --- USCC ------------------------------------------------------------------------------------


def test_published_uscc_is_valid() -> None:
    assert uscc_error("91110000600037341L") is None


def test_nan_an_style_uscc_with_computed_check_char_is_valid() -> None:
    body = "91500108MA5U3K7W2"
    code = make_uscc(body)
    assert code[-1] == uscc.calc_check_digit(body)
    assert uscc_error(code) is None


@pytest.mark.parametrize("first", ["A", "N", "Y"])
def test_uscc_beginning_with_a_n_or_y_is_valid_though_stdnum_rejects_it(first: str) -> None:
    code = make_uscc(first + "1500108MA5U3K7W2")
    assert uscc_error(code) is None
    assert not uscc.is_valid(code)


def test_uscc_with_wrong_check_char_is_rejected() -> None:
    code = make_uscc("91500108MA5U3K7W2")
    wrong = "0" if code[-1] != "0" else "1"
    assert uscc_error(code[:-1] + wrong) == "check character does not match"


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_uscc_with_letter_outside_gb32100_alphabet_is_rejected(letter: str) -> None:
    code = make_uscc("91500108MA5U3K7W2")
    assert uscc_error(code[:10] + letter + code[11:]) is not None


@pytest.mark.parametrize("value", ["", "91110000600037341", "91110000600037341L0"])
def test_uscc_of_wrong_length_is_rejected(value: str) -> None:
    assert uscc_error(value) == "must be 18 characters"


def test_lowercase_uscc_with_spaces_is_valid_and_normalised() -> None:
    assert uscc_error(" 91110000600037341l ") is None
    assert normalise_uscc(" 91110000600037341l ") == "91110000600037341L"


def test_uscc_check_char_refuses_a_malformed_body() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("9111000060003734")
    with pytest.raises(ValueError):
        uscc_check_char("9111000060003734I")


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_any_uscc_body_with_its_check_char_is_valid(body: str) -> None:
    assert uscc_error(make_uscc(body)) is None
    assert uscc_check_char(body) == uscc.calc_check_digit(body)


@given(
    st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17),
    st.integers(min_value=0, max_value=17),
    st.sampled_from(USCC_ALPHABET + "IOSVZ-# "),
)
def test_any_single_character_change_to_a_valid_uscc_is_rejected(
    body: str, position: int, replacement: str
) -> None:
    code = make_uscc(body)
    if code[position] == replacement or (replacement == " " and position in (0, 17)):
        replacement = "Z"  # a real change; an edge space would be stripped as padding
    mutated = code[:position] + replacement + code[position + 1 :]
    assert uscc_error(mutated) is not None


# --- Resident ID card ------------------------------------------------------------------------


def test_chongqing_id_born_before_1997_is_valid_though_stdnum_rejects_it() -> None:
    number = make_id_card("50010819850312123")
    assert id_card_error(number, today=TODAY) is None
    assert not ric.is_valid(number)


def test_id_with_lowercase_x_check_char_is_valid() -> None:
    number = make_id_card(id_body_with_check_x())
    assert number.endswith("X")
    assert id_card_error(number.lower(), today=TODAY) is None
    assert normalise_id_card(f" {number.lower()} ") == number


def test_id_born_tomorrow_is_rejected_and_born_today_is_valid() -> None:
    assert id_card_error(make_id_card("50010820250602123"), today=TODAY) == (
        "birth date is in the future"
    )
    assert id_card_error(make_id_card("50010820250601123"), today=TODAY) is None


@pytest.mark.parametrize("birth", ["19900230", "19000229", "19851301", "19850100"])
def test_id_with_impossible_birth_date_is_rejected(birth: str) -> None:
    number = make_id_card(f"500108{birth}123")
    assert id_card_error(number, today=TODAY) == "birth date is not a real date"


def test_id_born_on_leap_day_2000_is_valid() -> None:
    assert id_card_error(make_id_card("50010820000229123"), today=TODAY) is None


def test_id_born_before_1900_is_rejected() -> None:
    number = make_id_card("50010818991231123")
    assert id_card_error(number, today=TODAY) == "birth date is before 1900"


def test_id_with_wrong_check_char_is_rejected() -> None:
    number = make_id_card("50010819850312123")
    wrong = "0" if number[-1] != "0" else "1"
    assert id_card_error(number[:-1] + wrong, today=TODAY) == "check character does not match"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5001081985031212", "must be 18 characters"),
        ("50010819850312123Y", "must be 17 digits followed by a digit or X"),
        ("5001081985031212X3", "must be 17 digits followed by a digit or X"),
    ],
)
def test_id_of_wrong_shape_is_rejected(value: str, message: str) -> None:
    assert id_card_error(value, today=TODAY) == message


@given(
    st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
)
def test_any_id_body_with_real_birth_date_and_its_check_char_is_valid(
    area: str, born: date, sequence: str
) -> None:
    number = make_id_card(f"{area}{born:%Y%m%d}{sequence}")
    assert id_card_error(number, today=TODAY) is None
    assert number[-1] == ric.calc_check_digit(number)


def test_mask_id_card_keeps_first_six_and_last_four() -> None:
    assert mask_id_card("50010819850312123x") == "500108********123X"


# --- Division code and device ID -------------------------------------------------------------


def test_nan_an_division_code_is_valid() -> None:
    assert division_code_error("500108") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("500100", "must be a county-level code (not ending in 00)"),
        ("999999", "is not a known GB/T 2260 code"),
        ("50010", "must be 6 digits"),
        ("５００１０８", "must be 6 digits"),
    ],
)
def test_bad_division_code_is_rejected(value: str, message: str) -> None:
    assert division_code_error(value) == message


@pytest.mark.parametrize("device_type", ["131", "132"])
def test_camera_device_id_is_valid(device_type: str) -> None:
    assert device_id_error(f"5001080000{device_type}0000001") is None


def test_device_id_of_non_camera_type_is_rejected_naming_camera_types() -> None:
    message = device_id_error("50010800002000000001")
    assert message is not None
    assert "200" in message
    assert "131 or 132" in message


@pytest.mark.parametrize(
    "value", ["5001080000131000001", "500108000013100000012", "5001080000131000000A"]
)
def test_device_id_not_of_20_digits_is_rejected(value: str) -> None:
    assert device_id_error(value) == "must be 20 digits"


@pytest.mark.parametrize("centre", ["99999900", "50010000"])
def test_device_id_with_bad_division_in_centre_code_is_rejected(centre: str) -> None:
    message = device_id_error(f"{centre}001310000001")
    assert message is not None
    assert message.startswith("centre code:")


# --- Phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "19912345678",
        "023-60437688",
        "02360437688",
        "023-60437688-8001",
        "010-12345678",
        "0755-1234567",
    ],
)
def test_mobile_or_fixed_line_with_area_code_is_valid(value: str) -> None:
    assert phone_error(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "12345678901",
        "1381234567",
        "138123456789",
        "60437688",
        "23-60437688",
        "023-60437688-1234567",
        "023 60437688",
        "",
    ],
)
def test_malformed_phone_is_rejected(value: str) -> None:
    assert phone_error(value) is not None


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("023-60437688", "023-******88"),
        ("02360437688", "023-******88"),
        ("07551234567", "0755-*****67"),
        ("023-60437688-8001", "023-******88-****"),
    ],
)
def test_mask_phone_keeps_only_the_allowed_digits(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


def test_mask_phone_hides_an_unrecognised_number_entirely() -> None:
    assert mask_phone("12345") == "*****"
