"""Check characters of the two national identifiers every input carries.

- Resident ID number (GB 11643-1999): 17 digits, then an ISO 7064 MOD 11-2 check
  character (X stands for 10); digits 7-14 are the birth date.
- Unified social credit code (GB 32100-2015): 18 characters from a 31-letter
  alphabet, the last a MOD 31 check character.

Each ``*_problem`` function returns None for a valid value, or the reason in Chinese
(the loader quarantines with it, the GX expectations count it).
"""

from __future__ import annotations

import datetime as dt

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by sum mod 11

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def id_birth_date(id_number: str) -> dt.date | None:
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except (ValueError, IndexError):
        return None


def id_number_problem(value: str | None) -> str | None:
    if value is None or value == "":
        return "证件号码为空"
    v = value.strip().upper()
    if len(v) != 18:
        return f"证件号码应为18位，实际为{len(v)}位"
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return "证件号码含有非法字符"
    birth = id_birth_date(v)
    if birth is None:
        return "证件号码中的出生日期无效"
    expected = id_check_char(v[:17])
    if v[17] != expected:
        return f"证件号码校验位错误（应为{expected}）"
    return None


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_problem(value: str | None) -> str | None:
    if value is None or value == "":
        return "统一社会信用代码为空"
    v = value.strip().upper()
    if len(v) != 18:
        return f"统一社会信用代码应为18位，实际为{len(v)}位"
    if any(c not in USCC_ALPHABET for c in v):
        return "统一社会信用代码含有非法字符"
    expected = uscc_check_char(v[:17])
    if v[17] != expected:
        return f"统一社会信用代码校验位错误（应为{expected}）"
    return None
