"""Field types any domain's schemas share: text without NUL, JSON integers and booleans, ids."""

import re
from typing import Annotated

from pydantic import BeforeValidator, Field

# Ids are 32-bit columns: larger ones cannot exist, and PostgreSQL rejects them outright.
MAX_ID = 2**31 - 1

# The patterns only tell clients (and schema-driven fuzzers) what the validators below enforce:
# no NUL anywhere, and text that is not blank once trimmed.
NO_NUL_PATTERN = r"^[^\x00]*$"
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


# One line of text: no control character but tab (C0, DEL and C1) once the whitespace around it
# is trimmed, and not blank.
_AROUND = r"[\t-\r ]*"
ONE_LINE_PATTERN = (
    rf"^{_AROUND}[^\x00-\x08\x0a-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f]"
    rf"[^\x00-\x08\x0a-\x1f\x7f-\x9f]*{_AROUND}$"
)
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def one_line(value: str) -> str:
    """`value` without the whitespace around it (a trailing newline is only typing), unless
    what is left holds a control character other than tab: a line break ends up in a mail
    header, a log line or a terminal as a new one."""
    value = value.strip(" \t\n\r\x0b\x0c")
    if _CONTROLS.search(value):
        raise ValueError("must not contain line breaks or other control characters")
    return value


def reject_nul(value: str) -> str:
    """`value`, unless it holds U+0000."""
    # PostgreSQL text cannot hold U+0000; refuse it here rather than fail in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def trimmed_not_blank(value: str) -> str:
    """`value` without surrounding whitespace, unless nothing is left."""
    # Trimmed after the length check: the schema's maxLength counts the text as sent.
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def json_integer(value: object) -> object:
    """`value`, unless it is a JSON value that is no integer but pydantic would read as one."""
    # JSON Schema's integer is 2 or 2.0; pydantic would also read true as 1 and "2" as 2.
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


def json_true(value: object) -> object:
    """`value`, if it is the JSON literal `true`."""
    # A literal `true` would also match 1 and 1.0 (they equal True in Python).
    if not isinstance(value, bool):
        raise ValueError("must be true")
    return value


# The id of a record in a request body: a JSON integer a 32-bit id column can hold.
RecordId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(json_integer)]
