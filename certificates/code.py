"""The short verification code a person types (校验码): Crockford Base32 plus a check character.

15 random characters (75 bits) and one Luhn mod 32 check character, shown as
XXXX-XXXX-XXXX-XXXX. Every single-character typo and most adjacent swaps are caught
before the registry is asked. Input is forgiving: case, hyphens, spaces, O/I/L.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I L O U
N = len(ALPHABET)
DATA_CHARS = 15
READ_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class CodeError(ValueError):
    """A code that cannot be right; `reason` is machine readable."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_char(data: str) -> str:
    """Luhn mod N over the Crockford alphabet."""
    factor, total = 2, 0
    for ch in reversed(data):
        addend = factor * ALPHABET.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // N + addend % N
    return ALPHABET[(N - total % N) % N]


def new_code() -> str:
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_CHARS))
    return data + check_char(data)


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(text: str) -> str:
    """Canonical form of a typed code; raises CodeError when it cannot be valid."""
    cleaned = "".join(ch for ch in text.upper() if ch not in "- \t").translate(READ_ALIASES)
    if len(cleaned) != DATA_CHARS + 1 or any(ch not in ALPHABET for ch in cleaned):
        raise CodeError("code_malformed")
    if check_char(cleaned[:-1]) != cleaned[-1]:
        raise CodeError("code_checksum")
    return cleaned
