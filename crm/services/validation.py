"""Validation and normalisation of the register's values, with WTForms validators."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from crm.privacy.guard import TEXT, as_sentence, field_kind, find_sensitive

#: A business id as people type or paste it: "0737546-2", the older six-digit
#: "737546-2", without its hyphen "07375462", or as the EU VAT number "FI07375462"
#: (the same eight digits). Spaces around the value, after "FI" and around the
#: hyphen are ignored, and a dash pasted from a document counts as the hyphen. Six
#: digits need the hyphen: "7375462" could as well be seven missing their check digit.
_BUSINESS_ID = re.compile(
    r"(?:(?:FI\s*)?(?P<body>[0-9]{7})\s*[-\u2010\u2011\u2012\u2013\u2212]?"
    r"|(?P<old_body>[0-9]{6})\s*[-\u2010\u2011\u2012\u2013\u2212])"
    r"\s*(?P<check>[0-9])", re.IGNORECASE)
_BUSINESS_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
#: The longest business id a form takes as typed ("FI 0737546-2" with spaces around);
#: it is stored as NNNNNNN-C, nine characters.
BUSINESS_ID_TYPED_LENGTH = 20


class InvalidValue(ValueError):
    """A value that cannot be stored; the message says why, for the field it names."""


def normalise_business_id(value: str) -> str:
    """Return a Finnish business id (Y-tunnus) as NNNNNNN-C, checking its check digit.

    It may be typed as NNNNNNN-C, NNNNNN-C (the older form, whose leading zero is
    added), NNNNNNNC or as the VAT number FINNNNNNNC (`_BUSINESS_ID`).
    """
    match = _BUSINESS_ID.fullmatch(value.strip())
    if not match:
        raise InvalidValue(_l("Business ID must look like 1234567-8."))
    body = (match["body"] or match["old_body"]).zfill(7)
    remainder = sum(int(d) * w for d, w in zip(body, _BUSINESS_ID_WEIGHTS, strict=True)) % 11
    if remainder == 1:
        raise InvalidValue(_l("This is not a valid business ID."))
    check = 0 if remainder == 0 else 11 - remainder
    if check != int(match["check"]):
        raise InvalidValue(_l("The business ID's check digit is wrong."))
    return f"{body}-{check}"


def normalise_phone(value: str, region: str = "FI") -> str:
    """Return a phone number in E.164 form; numbers without +country are read as Finnish."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(_l("This is not a phone number.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(_l("This is not a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str | None) -> str:
    """Return a stored E.164 number grouped for reading (+358 40 1234567).

    Anything that is not a number phonenumbers can read is returned as it is.
    """
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalise_email(value: str) -> str:
    """Return an email address normalised (domain lower-cased); no DNS look-up."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidValue(_l("This is not a valid email address.")) from exc
    return result.normalized


def normalise_postal_code(value: str, country: str = "FI") -> str:
    value = value.strip().upper()
    if country.upper() == "FI":
        if not re.fullmatch(r"\d{5}", value):
            raise InvalidValue(_l("A Finnish postal code has five digits."))
    elif not re.fullmatch(r"[A-Z0-9][A-Z0-9 -]{1,9}", value):
        raise InvalidValue(_l("This is not a valid postal code."))
    return value


def check_free_text(value: str | None, kind: str = TEXT) -> None:
    """Refuse free text holding sensitive data (DESIGN §2), saying why in a sentence.

    :param kind: what the field holds (`crm.privacy.guard.field_kind`).
    """
    problem = find_sensitive(value, kind)
    if problem:
        raise InvalidValue(as_sentence(problem))


class Normalised:
    """A WTForms validator that normalises the field's data with `func`, or refuses it."""

    def __init__(self, func, **kwargs) -> None:
        self.func = func
        self.kwargs = kwargs

    def __call__(self, form, field) -> None:
        self.normalise(field, **self.kwargs)

    def normalise(self, field, **kwargs) -> None:
        # Blank input (also only spaces) means "no value", not a wrong value.
        if field.data is None or (isinstance(field.data, str) and not field.data.strip()):
            field.data = None
            return
        try:
            field.data = self.func(field.data, **kwargs)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc


class PostalCode(Normalised):
    """Normalise a postal code by the country in the form's `country` field (else Finland)."""

    def __init__(self, country_field: str = "country") -> None:
        super().__init__(normalise_postal_code)
        self.country_field = country_field

    def __call__(self, form, field) -> None:
        country = getattr(form, self.country_field, None)
        code = country.data if country is not None else None
        code = code.strip() if isinstance(code, str) else ""
        self.normalise(field, country=code or "FI")


class NoSensitiveData:
    """A WTForms validator refusing henkilötunnus, card numbers and health words.

    :param kind: what the field holds (`crm.privacy.guard.field_kind`); a job title or
        an organisation's name may hold words that free text about a person may not.
    """

    def __init__(self, kind: str = TEXT) -> None:
        self.kind = kind

    @classmethod
    def for_column(cls, column) -> NoSensitiveData:
        """The validator for a table's column, by what it holds (`field_kind`)."""
        return cls(field_kind(column.table.name, column.key))

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str):
            try:
                check_free_text(field.data, self.kind)
            except InvalidValue as exc:
                raise ValidationError(str(exc)) from exc


def business_id():
    return Normalised(normalise_business_id)


def phone():
    return Normalised(normalise_phone)


def email():
    return Normalised(normalise_email)


def postal_code(country_field: str = "country"):
    return PostalCode(country_field)
