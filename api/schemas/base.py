"""What every schema of the HTTP contract shares: field types, the strict base, vocabularies."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ledger.values import (
    PLACE_TYPES,
)

Text = Field(min_length=1, max_length=200)
LongText = Field(min_length=1, max_length=2000)


def _day(value: Any) -> Any:
    """A day is `YYYY-MM-DD` text: a JSON number is refused (pydantic would read it as a Unix
    time), so the schema's `format: date` means what it says."""
    if isinstance(value, int | float):
        raise ValueError("a day as YYYY-MM-DD text")
    return value


def _yes_no(value: Any) -> Any:
    """true or false only: pydantic would take 0, 1, "yes" or "off" too."""
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


def _json_number(value: Any) -> Any:
    """A number is a JSON number: pydantic would take "1.5", "2" or false too."""
    if isinstance(value, bool | str):
        raise ValueError("a number")
    return value


Day = Annotated[date, BeforeValidator(_day)]
YesNo = Annotated[bool, BeforeValidator(_yes_no)]
# For JSON bodies only: the officer pages validate `SystemFields` from form text.
Number = Annotated[float, BeforeValidator(_json_number)]
Whole = Annotated[int, BeforeValidator(_json_number)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Vocabularies in the OpenAPI -------------------------------------------------------------
# Each vocabulary's values (from the ledger's enums) and their Chinese labels (the officer pages'
# words, api/web/labels.py), added to a field's schema when the OpenAPI is generated: the labels
# are imported then, not here, as api.web imports this module.

Schema = dict[str, Any]
VERIFICATIONS = ("pending", "confirmed", "rejected")
EXAMPLE_USCC = "91500108MA5U7Q2K1B"  # a unit of 南岸区, Chongqing (valid check character)
NANAN = "500108"  # 重庆市南岸区


def _labels() -> dict[str, dict[Any, str]]:
    from api.web import labels

    return {
        "place_category": dict(labels.PLACE_CATEGORIES),
        "place_type": labels.PLACE_TYPES,
        "unit_type": labels.UNIT_TYPES,
        "device_type": labels.DEVICE_TYPES,
        "status": labels.STATUSES,
        "channel": labels.CHANNELS,
        "role": labels.ROLES,
        "verification": labels.VERIFICATIONS,
    }


def _listed(values: Iterable[Any], table: dict[Any, str]) -> str:
    return "; ".join(f"`{v}` {table[v]}" if v in table else f"`{v}`" for v in values)


def vocabulary(
    kind: str, values: Iterable[Any], *, lead: str = "", nullable: bool = False
) -> Callable[[Schema], None]:
    """A field's `json_schema_extra`: its allowed values as `enum` (null too where the field
    may be null) and a description naming each with its Chinese label."""
    allowed = [v.value if isinstance(v, StrEnum) else v for v in values]

    def extra(schema: Schema) -> None:
        listed = _listed(allowed, _labels()[kind])
        schema["description"] = f"{lead}one of: {listed}" if lead else f"One of: {listed}"
        schema["enum"] = [*allowed, None] if nullable else allowed

    return extra


def _place_types_by_category() -> str:
    table = _labels()
    return "\n".join(
        f"- {category} ({table['place_category'][category]}): "
        + _listed(types, table["place_type"])
        for category, types in PLACE_TYPES.items()
    )


def place_category(*, enum: bool = False) -> Callable[[Schema], None]:
    """The place category's description; `enum` only where it is an answer's: a request's is
    refused by the domain's checks (422 listing the allowed values), which come after others
    (If-Match, say) that a schema's enum would put before them."""

    def extra(schema: Schema) -> None:
        if enum:
            schema["enum"] = list(PLACE_TYPES)
        schema["description"] = (
            "The place category of Art. 7 of Decree No. 799 (1 to 5); it decides which"
            " `place_type` values are allowed:\n" + _place_types_by_category()
        )

    return extra


def place_type(*, enum: bool = False) -> Callable[[Schema], None]:
    """The place type's description, and its `enum` where it is an answer's (as above)."""
    every = [t for types in PLACE_TYPES.values() for t in types]

    def extra(schema: Schema) -> None:
        if enum:
            schema["enum"] = every
        schema["description"] = (
            "The place type, one of its `place_category`'s (a type of another category is"
            " refused with 422 naming the allowed ones):\n" + _place_types_by_category()
        )

    return extra


def examples(*bodies: dict[str, Any]) -> ConfigDict:
    """A request body's examples in the OpenAPI (tests/e2e/test_docs_offline.py loads each
    into its model)."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})
