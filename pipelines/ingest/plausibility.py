"""Is text decoded from a guessed encoding plausible for a name?

A CSV that is not UTF-8 is decoded as GB18030, which accepts almost any byte sequence: a
Latin-1 "Müller" decodes without error as "M黮ler". Names of people and units are written
with common characters: ASCII, Latin letters of foreign names, the middle dot of
transliterated names, full-width forms, and the Chinese characters of GB 2312. A character
outside these in a name field of a GB18030-decoded file means the guess was wrong, so the
file fails with a Chinese reason rather than loading mojibake. (A rare name character that
GB 2312 lacks, such as 堃, is fine in a UTF-8 file; only the guessed decoding is checked.)
"""

from __future__ import annotations

import functools

import pyarrow as pa

# Columns holding names, where mojibake shows and matters.
NAME_COLUMNS = ("name", "unit_name", "legal_representative")
NAME_PUNCTUATION = set("·•・‧．.-—'’()（）、 \u3000")


@functools.lru_cache(maxsize=65_536)
def plausible_char(ch: str) -> bool:
    code = ord(ch)
    if code < 0x80:
        return ch.isprintable()
    if ch in NAME_PUNCTUATION:
        return True
    if 0xC0 <= code <= 0x24F:  # Latin letters with accents (foreign names)
        return ch.isalpha()
    if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII forms
        return True
    if 0x4E00 <= code <= 0x9FFF:  # CJK: only what GB 2312 encodes
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return False
        return True
    return False


def first_implausible(
    column: pa.ChunkedArray | pa.Array, rows: pa.ChunkedArray | pa.Array
) -> tuple[int, str, str] | None:
    """(row number, character, value) of the first value with a character a name would not contain."""
    seen: set[str] = set()
    for value, row in zip(column.to_pylist(), rows.to_pylist()):
        if not value or value in seen:
            continue
        seen.add(value)
        bad = next((ch for ch in value if not plausible_char(ch)), None)
        if bad is not None:
            return int(row), bad, value
    return None
