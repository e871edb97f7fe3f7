"""Check characters of the identifiers the platform accepts.

- Unified social credit code 统一社会信用代码 (GB 32100-2015): 18 characters, mod-31 check.
- Resident identity number 居民身份证号码 (GB 11643-1999): 18 characters, ISO 7064 MOD 11-2
  check, and a birth date that exists.

Pure functions: every service validates the same way.
"""

from __future__ import annotations

from datetime import date

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # I, O, S, V, Z are never used
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"


def credit_code_check_character(first17: str) -> str:
    """The 18th character of a credit code whose first 17 characters are given."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_CODE_WEIGHTS, strict=True))
    # (31 - total mod 31) mod 31: a remainder of 0 gives 0, not 31; value 30 maps to 'Y'.
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(c not in CREDIT_CODE_ALPHABET for c in code):
        return False
    return credit_code_check_character(code[:17]) == code[17]


def resident_id_check_character(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _RESIDENT_ID_WEIGHTS, strict=True))
    return _RESIDENT_ID_CHECK[total % 11]


def resident_id_birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def resident_id_problem(number: str) -> str | None:
    """None when valid, else which rule fails: ``format``, ``birth_date`` or ``check_character``."""
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return "format"
    if resident_id_birth_date(number) is None:
        return "birth_date"
    if resident_id_check_character(number[:17]) != number[17]:
        return "check_character"
    return None
