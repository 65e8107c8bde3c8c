"""Reading a purchased list: encoding, separator, header mapping, and every line checked.

A list is a CSV file as Excel writes it: UTF-8 (with or without a byte-order mark)
or Windows-1252, fields separated by commas or, as Finnish Excel does, semicolons.
Line numbers are those of the file, the header being line 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.services.imports import checks
from crm.services.validation import InvalidValue

#: The fields a list can fill, in the order of the staging rows.
FIELDS = ("first_name", "last_name", "title", "email", "phone", "organisation", "business_id")
FIELD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"), "title": _l("Title"),
    "email": _l("Email"), "phone": _l("Phone"), "organisation": _l("Organisation"),
    "business_id": _l("Business ID"),
}
#: Column headers recognised without a mapping, in Finnish, English and Swedish.
HEADER_NAMES = {
    "first_name": ("etunimi", "first name", "firstname", "given name", "förnamn"),
    "last_name": ("sukunimi", "last name", "lastname", "surname", "family name", "efternamn"),
    "title": ("titteli", "tehtävänimike", "nimike", "ammattinimike", "tehtävä", "asema",
              "title", "job title", "position", "titel"),
    "email": ("sähköposti", "sähköpostiosoite", "s-posti", "sposti", "email", "e-mail",
              "email address", "e-post"),
    "phone": ("puhelin", "puhelinnumero", "matkapuhelin", "gsm", "phone", "phone number",
              "telephone", "mobile", "telefon"),
    "organisation": ("yritys", "yrityksen nimi", "organisaatio", "organisation",
                     "organization", "company", "company name", "företag"),
    "business_id": ("y-tunnus", "ytunnus", "business id", "business-id", "company id",
                    "fo-nummer"),
}
#: Longest value each field takes (the columns' lengths).
MAX_LENGTHS = {"first_name": 100, "last_name": 100, "title": 200, "email": 320,
               "organisation": 200}
_HEADER_INDEX = {name: key for key, names in HEADER_NAMES.items() for name in names}


class ImportRefused(Exception):
    """The file as a whole cannot be imported; the message says why."""


@dataclass(frozen=True)
class LineError:
    """A value on one line that cannot be imported; never quotes the value."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field is None:
            return _("line %(line)d: %(message)s", line=self.line, message=self.message)
        return _("line %(line)d, field %(field)s: %(message)s", line=self.line,
                 field=self.field, message=self.message)


#: A checked line: (line, first name, last name, title, email, email key (lower-case),
#: phone, organisation, business id). Empty values are None.
Row = tuple


@dataclass
class ParsedList:
    """The file's layout and how its columns map to the fields."""

    text: str
    encoding: str
    delimiter: str
    headers: list[str]
    #: field -> index of its column
    columns: dict[str, int] = field(default_factory=dict)

    @property
    def ignored_headers(self) -> list[str]:
        used = set(self.columns.values())
        return [h for i, h in enumerate(self.headers) if i not in used]


def decode(data: bytes) -> tuple[str, str]:
    """Return the file's text and encoding: UTF-8 (BOM or not), else Windows-1252."""
    if not data.strip():
        raise ImportRefused(_("The file is empty."))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data.startswith(b"PK\x03\x04") \
            or b"\x00" in data[:4096]:
        raise ImportRefused(_("Wrong encoding: this is not a CSV text file. Save the list "
                              "as CSV (UTF-8 or Windows-1252) and try again."))
    if data.startswith(b"\xef\xbb\xbf"):
        data, encodings = data[3:], ("utf-8",)
    else:
        encodings = ("utf-8", "cp1252")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            break
        return text, encoding
    raise ImportRefused(_("Wrong encoding: the file is neither UTF-8 nor Windows-1252 text. "
                          "Save the list as CSV (UTF-8) and try again."))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_header(header: str) -> str:
    return " ".join(header.replace("_", " ").strip().lower().split())


def read_layout(data: bytes, mapping: dict[str, str] | None = None) -> ParsedList:
    """Decode the file, find its separator and header, and map the columns to fields.

    :param mapping: field -> column header, chosen by the user (an empty header leaves
        the field out); other fields are recognised by their usual headers.
    """
    text, encoding = decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    try:
        header_row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:
        raise ImportRefused(_("The header line cannot be read as CSV: %(error)s",
                              error=str(exc))) from None
    headers = [h.strip() for h in header_row]
    if not any(headers):
        raise ImportRefused(_("The file has no header line naming its columns."))
    parsed = ParsedList(text, encoding, delimiter, headers)
    parsed.columns = map_columns(headers, mapping or {})
    return parsed


def missing_columns(parsed: ParsedList) -> str | None:
    """Say which required fields no column maps to, as the mapping names them
    ("Etunimi", not "first_name"); None when none is missing.

    Names are required, and an email or a phone (or both).
    """
    missing = [str(FIELD_LABELS[f]) for f in ("first_name", "last_name")
               if f not in parsed.columns]
    if "email" not in parsed.columns and "phone" not in parsed.columns:
        missing.append(f"{FIELD_LABELS['email']} / {FIELD_LABELS['phone']}")
    if not missing:
        return None
    # Headers recognised without a mapping (HEADER_NAMES), in the reader's language.
    locale = get_locale()  # en_GB on English pages (crm.views.locale)
    examples = "first name, last name, email, phone" if locale and locale.language == "en" \
        else "etunimi, sukunimi, sähköposti, puhelin"
    return _("Required columns are missing: %(fields)s. Name them in the header (e.g. "
             "%(examples)s) or map them.", fields=", ".join(missing), examples=examples)


def require_columns(parsed: ParsedList) -> None:
    """Refuse a layout without names, or without both email and phone."""
    problem = missing_columns(parsed)
    if problem:
        raise ImportRefused(problem)


def open_list(data: bytes, mapping: dict[str, str] | None = None) -> ParsedList:
    """Return the file's layout, refusing a file that cannot be imported as it is mapped."""
    parsed = read_layout(data, mapping)
    require_columns(parsed)
    return parsed


def map_columns(headers: list[str], mapping: dict[str, str]) -> dict[str, int]:
    """Return field -> column index: the user's mapping first, then the usual names."""
    by_header = {}
    for index, header in enumerate(headers):
        by_header.setdefault(normalise_header(header), index)
    columns: dict[str, int] = {}
    for field_name, header in mapping.items():
        if field_name not in FIELDS:
            raise ImportRefused(_("There is no field %(field)s; the fields are: %(fields)s.",
                                  field=field_name, fields=", ".join(FIELDS)))
        if not header:
            continue
        index = by_header.get(normalise_header(header))
        if index is None:
            raise ImportRefused(_("The file has no column %(header)s.", header=header))
        twice = next((f for f, i in columns.items() if i == index), None)
        if twice is not None:
            # "Nimi" as both first and last name would copy the whole name into both.
            raise ImportRefused(_("The column %(header)s is chosen for both %(first)s and "
                                  "%(second)s: choose one field for it.", header=header,
                                  first=FIELD_LABELS[twice], second=FIELD_LABELS[field_name]))
        columns[field_name] = index
    taken = set(columns.values())
    for index, header in enumerate(headers):
        key = _HEADER_INDEX.get(normalise_header(header))
        if key is not None and key not in columns and key not in mapping and index not in taken:
            columns[key] = index
            taken.add(index)
    return columns


def read_rows(parsed: ParsedList, errors: list[LineError]) -> Iterator[Row]:
    """Yield each line's checked row; append what is wrong with a line to `errors`."""
    reader = csv.reader(io.StringIO(parsed.text, newline=""), delimiter=parsed.delimiter)
    next(reader, None)  # the header
    width = len(parsed.headers)
    index = [parsed.columns.get(f) for f in FIELDS]
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportRefused(_("Line %(line)d cannot be read as CSV: %(error)s",
                                  line=line, error=str(exc))) from None
        if not any(values):
            continue  # a blank line, as Excel leaves at the end
        if len(values) != width:
            errors.append(LineError(line, None, ngettext(
                "%(num)d value, but the header has %(width)d columns.",
                "%(num)d values, but the header has %(width)d columns.",
                len(values), width=width)))
            continue
        row = check_row(line, [values[i].strip() if i is not None else "" for i in index],
                        errors)
        if row is not None:
            yield row


def check_row(line: int, values: list[str], errors: list[LineError]) -> Row | None:
    """Return one line's values checked and normalised, or None (and its errors)."""
    first, last, title, email, phone, organisation, business_id = values
    problems: list[tuple[str, str]] = []
    if not first:
        problems.append(("first_name", _("a value is needed")))
    if not last:
        problems.append(("last_name", _("a value is needed")))
    for name, value in (("first_name", first), ("last_name", last), ("title", title),
                        ("organisation", organisation)):
        if len(value) > MAX_LENGTHS[name]:
            problems.append((name, _("longer than %(max)d characters", max=MAX_LENGTHS[name])))
        elif value and not checks.CLEAN[name](value):
            problems.append((name, checks.sensitive(value, name)))
    email_key = None
    if email:
        try:
            email = checks.email(email)
            email_key = email.lower()
        except InvalidValue as exc:
            problems.append(("email", str(exc)))
    if phone:
        try:
            phone = checks.phone(phone)
        except InvalidValue as exc:
            problems.append(("phone", str(exc)))
    if not email and not phone:
        problems.append(("email", _("an email address or a phone number is needed")))
    if business_id:
        try:
            business_id = checks.business_id(business_id)
        except InvalidValue as exc:
            problems.append(("business_id", str(exc)))
        if not organisation:
            problems.append(("organisation",
                             _("the organisation's name is needed with its business ID")))
    if problems:
        errors.extend(LineError(line, name, message) for name, message in problems)
        return None
    return (line, first, last, title or None, email or None, email_key, phone or None,
            organisation or None, business_id or None)
