"""The sensitive-data guard (DESIGN §2): the register holds no sensitive data.

Free text is refused when it holds a Finnish personal identity code with a valid
check character, a payment card number that passes the Luhn check, or a word
about someone's health.

Identity codes and card numbers are refused in every field. Health words are
refused in text about a person (notes, activities, messages, reasons), but not
in what names an organisation (`ORGANISATION`: a hospital, a patients'
association and their addresses are customers like any other), and in a job title
(`TITLE`) only as part of an occupation's name: "Diabeteshoitaja", "Sairaalan
johtaja" and "Medication safety manager" pass, "Diabetes" or "sairaslomalla"
does not (`names_occupation`). `field_kind` says which fields are which.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from babel.lists import format_list
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
HETU_CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
                "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}
_HETU = re.compile(r"(?<![0-9A-Za-z])(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Y])"
                   r"(?![0-9A-Za-z])", re.IGNORECASE)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
#: Stems of health words, Finnish and English, as regular expressions matched at the
#: start of a word. Some stems carry a look-ahead so that ordinary words sharing their
#: first letters pass: "hivenen" (a little) is not HIV, "diagnostiikka"/"diagnostics"
#: (of a system) is not a diagnosis.
HEALTH_STEMS = (
    "diagnoo", r"diagnos(?!ti)", "sairau", "sairas", "masennu", "syöpä", "syövä", "diabete",
    "mielenterv", "lääkity", "sairaal", r"hiv(?![^\W\d_])", "raskaana", "pregnan",
    "depressio", "cancer", "illness", "disabilit", "vammai", "medication", "epilep",
    "dementi", "masentun",
)
_HEALTH = re.compile(r"\b(?:" + "|".join(HEALTH_STEMS) + r")\w*", re.IGNORECASE)

#: What a field holds, which decides how much of the guard applies to it.
TEXT = "text"                  # about a person: everything is checked
TITLE = "title"                # a job title: a health word only in an occupation's name
ORGANISATION = "organisation"  # an organisation's name and addresses: no health check

#: The fields (table, column) that are not free text about a person; any other is.
_FIELD_KINDS = {
    **{("organisation", column): ORGANISATION for column in (
        "name", "industry", "website", "visiting_street", "visiting_city",
        "invoicing_street", "invoicing_city", "e_invoice_address", "e_invoice_operator",
        "billing_email")},
    ("callback_request", "organisation_name"): ORGANISATION,
    ("recipient", "name"): ORGANISATION,
    ("source", "supplier"): ORGANISATION,
    # A street or a city names a place, wherever it is ("Sairaalakatu 3").
    ("contact", "street_address"): ORGANISATION,
    ("contact", "city"): ORGANISATION,
    ("contact", "title"): TITLE,
}

#: Words naming an occupation, Finnish and English. A title's health word passes when
#: it ends with one ("Syöpälääkäri", compounds being one word in Finnish) or one of the
#: next two words of its phrase is or ends with one ("Sairaalan johtaja", "Cancer
#: researcher", "Medication safety manager"; "Syöpä- ja diabeteshoitaja").
OCCUPATIONS = (
    "hoitaja", "lääkäri", "insinööri", "johtaja", "tutkija", "asiantuntija",
    "koordinaattori", "neuvoja", "terapeutti", "kirurgi", "päällikkö", "esihenkilö",
    "sihteeri", "suunnittelija", "ohjaaja", "farmaseutti", "proviisori", "fyysikko",
    "kemisti", "nurse", "doctor", "physician", "researcher", "scientist", "manager",
    "specialist", "engineer", "director", "coordinator", "consultant", "advisor",
    "adviser", "officer", "therapist", "surgeon", "pharmacist",
)
_OCCUPATION = re.compile(r"(?:" + "|".join(OCCUPATIONS) + r")\Z", re.IGNORECASE)
#: The next word of the same phrase: only spaces and hyphens between ("Syöpä- ja").
_NEXT_WORD = re.compile(r"[\s\-\u2010\u2011\u2013]+(\w+)")


def is_valid_hetu(day: str, month: str, year: str, sign: str, serial: str, check: str) -> bool:
    """Return whether the parts form a real henkilötunnus (date and check character)."""
    try:
        date(HETU_CENTURY[sign.upper()] + int(year), int(month), int(day))
    except (KeyError, ValueError):
        return False
    if int(serial) < 2:  # individual numbers start at 002
        return False
    return HETU_CHECK[int(day + month + year + serial) % 31] == check.upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def field_kind(table: str, column: str) -> str:
    """Return what a column holds (`TEXT`, `TITLE` or `ORGANISATION`), for `find_sensitive`."""
    return _FIELD_KINDS.get((table, column), TEXT)


def names_occupation(text: str, health_word: re.Match) -> bool:
    """Return whether a health word found in `text` is part of an occupation's name."""
    words = [health_word.group()]
    position = health_word.end()
    for _ in range(2):
        following = _NEXT_WORD.match(text, position)
        if following is None:
            break
        words.append(following.group(1))
        position = following.end()
    return any(_OCCUPATION.search(word) for word in words)


#: Each kind of sensitive data: its message when it is the only kind found, and its
#: name in a message naming several ("contains A, B and C; ...").
_IDENTITY_CODE = (
    _l("contains a Finnish personal identity code (henkilötunnus); the register must not "
       "hold one."),
    _l("a Finnish personal identity code (henkilötunnus)"))
_CARD_NUMBER = (
    _l("contains a payment card number; the register must not hold one."),
    _l("a payment card number"))
_HEALTH_WORDS = (
    _l("mentions health information; the register must not hold any."),
    _l("health information"))


def _holds_identity_code(text: str) -> bool:
    return any(is_valid_hetu(*m.groups()) for m in _HETU.finditer(text))


def _holds_card_number(text: str) -> bool:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits):
            return True
    return False


def _holds_health_word(text: str, kind: str) -> bool:
    if kind == ORGANISATION:
        return False
    return any(kind != TITLE or not names_occupation(text, health_word)
               for health_word in _HEALTH.finditer(text))


def find_sensitive(text: str | None, kind: str = TEXT) -> str | None:
    """Return a message naming every kind of sensitive data `text` holds, or None.

    :param kind: what the field holds (`field_kind`): free text about a person unless
        said otherwise.
    :return: a message that continues a field's name ("notes: contains ..."), as an
        import's line errors show it; `as_sentence` makes it one of its own. One kind
        found has its own message; more are named in one ("contains a Finnish
        personal identity code (henkilötunnus) and health information; ...").
    """
    if not text:
        return None
    # Text pasted from some systems arrives decomposed ("a" + combining diaeresis).
    text = unicodedata.normalize("NFC", text)
    # Every check runs: the message names all that the text holds, so that it can be
    # corrected at once.
    found = [problem for problem, holds in ((_IDENTITY_CODE, _holds_identity_code(text)),
                                            (_CARD_NUMBER, _holds_card_number(text)),
                                            (_HEALTH_WORDS, _holds_health_word(text, kind)))
             if holds]
    if not found:
        return None
    if len(found) == 1:
        return str(found[0][0])
    problems = [str(name) for _alone, name in found]
    return gettext("contains %(problems)s; the register must not hold such data.",
                   problems=format_list(problems, locale=get_locale() or "en"))


def as_sentence(message: str) -> str:
    """Return a message that continues a field's name ("contains ...", "sisältää ...")
    as a sentence of its own, starting with a capital letter."""
    return message[:1].upper() + message[1:]
