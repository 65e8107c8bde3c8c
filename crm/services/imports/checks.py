"""The register's validators, fast enough for 100,000 lines a second.

Each function here gives exactly the answer of its counterpart in
`crm.services.validation` or `crm.privacy.guard`, and takes a short cut only for
the common, simple case (a plain ASCII address, a Finnish number, text with no
digits and no word starting like a health word). Whenever the short cut is not
sure, the full check decides, so a short cut can only save time, never let a
value through that the full check refuses (tests/test_import.py compares them).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from crm.privacy.guard import HEALTH_STEMS, TEXT, field_kind, find_sensitive
from crm.services.validation import (
    InvalidValue,
    normalise_business_id,
    normalise_email,
    normalise_phone,
)

# -- email ----------------------------------------------------------------------

#: A dot-atom local part of ASCII "atext" characters (RFC 5322), as email_validator takes.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


@lru_cache(maxsize=65536)
def _domain(domain: str) -> str | None:
    """Return the domain as the full check normalises it, or None when it refuses it."""
    try:
        return normalise_email(f"a@{domain}").rpartition("@")[2]
    except InvalidValue:
        return None


def email(value: str) -> str:
    """Return `normalise_email(value)`; plain addresses check their domain once per file."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if at and len(local) <= 64 and domain.isascii() and _LOCAL.match(local):
        normalised_domain = _domain(domain)
        if normalised_domain is not None and len(local) + 1 + len(normalised_domain) <= 254:
            return f"{local}@{normalised_domain}"
    return normalise_email(value)


# -- phone ----------------------------------------------------------------------

#: What people type between digits; anything else makes the full check decide.
_SEPARATORS = str.maketrans("", "", " \u00a0()-")
#: The number types `is_valid_number` accepts; the common ones first, as a number is
#: valid when any of them matches (the order changes only how soon a match is found).
_TYPES = ("mobile", "fixed_line", "premium_rate", "toll_free", "shared_cost", "voip",
          "personal_number", "pager", "uan", "voicemail")


def _lengths_regex(lengths: list[int]) -> str:
    """A lookahead for the possible lengths, runs of lengths as ranges ({6,10})."""
    runs: list[list[int]] = []
    for n in sorted(set(lengths)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    alternatives = "|".join(f"[0-9]{{{a}}}" if a == b else f"[0-9]{{{a},{b}}}"
                            for a, b in runs)
    return f"(?=(?:{alternatives})\\Z)"


def _desc_regex(desc) -> str | None:
    """One number description (pattern and possible lengths) as a regular expression."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = [n for n in desc.possible_length or () if n > 0]
    if desc.possible_length and not lengths:
        return None
    length = _lengths_regex(lengths) if lengths else ""
    return f"{length}(?:{desc.national_number_pattern})\\Z"


class _Region:
    """Validity of national numbers in one region, from phonenumbers' own metadata."""

    def __init__(self, code: str) -> None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(code)
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        general = _desc_regex(metadata.general_desc)
        types = [p for p in (_desc_regex(getattr(metadata, t)) for t in _TYPES) if p]
        self.general = re.compile(general) if general else None
        self.types = re.compile("|".join(types)) if types else None

    def valid(self, nsn: str) -> bool:
        return bool(self.general and self.types and self.general.match(nsn)
                    and self.types.match(nsn))


class _Country:
    """`phonenumbers.is_valid_number` for one country calling code, without parsing."""

    def __init__(self, country_code: int) -> None:
        self.prefix = f"+{country_code}"
        self.regions = [_Region(code) for code in
                        phonenumbers.COUNTRY_CODE_TO_REGION_CODE[country_code]]

    def valid(self, nsn: str) -> bool:
        # As phonenumbers picks the region of a shared calling code (Finland and Åland).
        for region in self.regions:
            if region.leading is not None:
                if region.leading.match(nsn):
                    return region.valid(nsn)
            elif region.valid(nsn):
                return True
        return False


_FINLAND = _Country(358)


def phone(value: str) -> str:
    """Return `normalise_phone(value)` (Finland by default); Finnish numbers skip parsing."""
    compact = value.strip().translate(_SEPARATORS)
    if compact.startswith(_FINLAND.prefix):
        nsn = compact[len(_FINLAND.prefix):]
    elif compact.startswith("0") and not compact.startswith("00"):
        nsn = compact[1:]  # the trunk prefix
    else:
        nsn = ""
    if nsn[:1] in "123456789" and nsn and nsn.isascii() and nsn.isdigit() \
            and _FINLAND.valid(nsn):
        return _FINLAND.prefix + nsn
    return normalise_phone(value)


# -- the sensitive-data guard -----------------------------------------------------

_DIGIT = re.compile(r"[0-9]")
_WORD = re.compile(r"\w+")


def _stem_prefixes() -> frozenset[str] | None:
    prefixes = set()
    for stem in HEALTH_STEMS:
        match = re.match(r"[^\W\d_]{3}", stem)
        if match is None:
            return None  # a stem this short cut cannot read: always run the full check
        prefixes.add(match.group().lower())
    return frozenset(prefixes)


_STEM_PREFIXES = _stem_prefixes()
#: The prefixes anywhere in the text: one quick scan before looking at words.
_STEM_ANYWHERE = re.compile("|".join(sorted(_STEM_PREFIXES or ())))


def may_be_sensitive(text: str) -> bool:
    """Return False only when `find_sensitive(text)` is certainly None.

    Identity codes and card numbers need digits. A health word starts a word with
    one of the stems' first three letters. Outside Latin-1, case-insensitive matching
    has equivalences that `lower()` does not know (dotless i, long s) and digits other
    than 0-9 exist: the full check runs there.
    """
    if _STEM_PREFIXES is None or not text.isascii() and not _is_latin1(text):
        return True
    if _DIGIT.search(text):  # in Latin-1, the guard's \d is [0-9]
        return True
    lowered = text.lower()
    if not _STEM_ANYWHERE.search(lowered):
        return False
    return any(word[:3] in _STEM_PREFIXES for word in _WORD.findall(lowered))


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


#: What the list's fields hold, as the columns they are stored in (a title may name an
#: occupation with a health word, an organisation's name may hold any); others are TEXT.
KINDS = {"title": field_kind("contact", "title"),
         "organisation": field_kind("organisation", "name")}


def _clean_check(kind: str):
    @lru_cache(maxsize=1 << 16)
    def clean(text: str) -> bool:
        """Return whether `find_sensitive(text, kind)` finds nothing; lists repeat names,
        titles and organisations, so each value is checked once.

        `may_be_sensitive` is the check for free text, which refuses the most: when it
        is sure, the answer holds for a title and an organisation's name too.
        """
        return not may_be_sensitive(text) or find_sensitive(text, kind) is None

    return clean


clean = _clean_check(TEXT)
#: `clean` for each of the list's fields. One cache per field, each keyed by the value
#: alone: a key of value and field would cost more than the check saves on a clean list.
CLEAN = {"first_name": clean, "last_name": clean,
         **{field: _clean_check(kind) for field, kind in KINDS.items()}}


def sensitive(text: str, field: str = "") -> str | None:
    """Return `find_sensitive(text)` for the list's `field`: a message naming what
    sensitive data it holds, or None."""
    return None if CLEAN.get(field, clean)(text) else find_sensitive(text, KINDS.get(field, TEXT))


# -- business id ------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _business_id(value: str) -> str | None:
    try:
        return normalise_business_id(value)
    except InvalidValue:
        return None


def business_id(value: str) -> str:
    """Return `normalise_business_id(value)`, checked once per value (and organisation)."""
    return _business_id(value) or normalise_business_id(value)


def clear_caches() -> None:
    """Forget the values checked so far (the benchmark times the checks from cold)."""
    for cached in (_domain, *set(CLEAN.values()), _business_id):
        cached.cache_clear()
