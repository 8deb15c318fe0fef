"""Normalisation of duplicate keys (shared by every context that dedupes)."""
from __future__ import annotations

import functools
import re
import unicodedata

_NON_DIGITS = re.compile(r"[^0-9]+")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=4096)    # validation, then the duplicate key: an import asks twice per row
def normalize_phone(raw: str | None) -> str | None:
    """Digits only; a mainland-China country prefix (+86 / 0086) is dropped."""
    if not raw:
        return None
    digits = _NON_DIGITS.sub("", unicodedata.normalize("NFKC", raw))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


def normalize_name(raw: str | None) -> str | None:
    """Case- and space-insensitive key: NFKC, casefold, no whitespace."""
    if raw is None:
        return None
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw)).casefold() or None
