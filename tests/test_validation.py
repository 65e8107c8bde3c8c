"""The normalisers of crm.services.validation and the sensitive-data guard (DESIGN §2, §5).

Valid Y-tunnus and henkilötunnus values are computed here with the published
algorithms, independently of the code under test.
"""

from __future__ import annotations

import unicodedata

import pytest
from flask_babel import force_locale
from wtforms import Form, StringField
from wtforms.validators import ValidationError

from crm.privacy import guard
from crm.privacy.guard import find_sensitive
from crm.services import validation as v
from crm.services.validation import (
    InvalidValue,
    normalise_business_id,
    normalise_email,
    normalise_phone,
    normalise_postal_code,
)
from tests.health_examples import (
    HEALTH_NOTES,
    HEALTH_TITLES,
    OCCUPATION_TITLES,
    ORGANISATION_NAMES,
)

# -- independent implementations of the check algorithms ----------------------

Y_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def y_remainder(body: str) -> int:
    return sum(int(d) * w for d, w in zip(body.zfill(7), Y_WEIGHTS, strict=True)) % 11


def y_tunnus(body: str) -> str:
    """Return the business id for a 7-digit body (whose remainder is not 1)."""
    r = y_remainder(body)
    assert r != 1, f"{body} has no check digit"
    return f"{body}-{0 if r == 0 else 11 - r}"


def hetu(day: int, month: int, year: int, sign: str, serial: int) -> str:
    """Return a henkilötunnus with its correct check character (the date is not checked)."""
    digits = f"{day:02d}{month:02d}{year % 100:02d}"
    return f"{digits}{sign}{serial:03d}{HETU_CHECK[int(f'{digits}{serial:03d}') % 31]}"


def luhn_complete(prefix: str) -> str:
    """Append the check digit that makes `prefix` pass the Luhn check."""
    for d in "0123456789":
        digits = prefix + d
        total = 0
        for i, ch in enumerate(reversed(digits)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


REMAINDER_ONE_BODIES = [b for b in (f"{n:07d}" for n in range(1, 400)) if y_remainder(b) == 1][:2]


@pytest.fixture(autouse=True)
def _clean_register(app):
    """These unit tests write nothing: an app context without conftest's table clean-up."""
    with app.app_context():
        yield


@pytest.fixture(autouse=True)
def _english(_clean_register):
    """Messages are compared in English, whatever the default locale."""
    with force_locale("en"):
        yield


# -- Y-tunnus -------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("0737546-2", "0737546-2"),
    ("0112038-9", "0112038-9"),
    ("1572860-0", "1572860-0"),          # check digit 0 (remainder 0)
    (y_tunnus("2085690"), "2085690-6"),
    (y_tunnus("1234567"), "1234567-1"),  # check digit 1 (remainder 10)
    (" 0737546-2 ", "0737546-2"),        # stray spaces
    ("737546-2", "0737546-2"),           # old six-digit form, zero-padded
    # As copied from invoices: without the hyphen, or as the EU VAT number.
    ("07375462", "0737546-2"),
    ("15728600", "1572860-0"),
    ("FI07375462", "0737546-2"),
    ("fi07375462", "0737546-2"),
    ("FI 07375462", "0737546-2"),
    (" FI07375462 ", "0737546-2"),
    ("FI0737546-2", "0737546-2"),
    (" 12345671\t", "1234567-1"),
    ("0737546 - 2", "0737546-2"),        # spaces around the hyphen
    ("0737546 2", "0737546-2"),          # a space for the hyphen
    ("0737546\u2013" "2", "0737546-2"),   # an en dash from a document
    ("0737546\u00a0-\u00a02", "0737546-2"),  # no-break spaces
])
def test_business_id_accepted_and_normalised(value, expected):
    assert normalise_business_id(value) == expected


@pytest.mark.parametrize("value", [
    "0737546-3", "0737546-0", "0112038-8", "1572860-1", "2085690-5",
    "07375463", "FI07375463", "FI 0737546-3", " 15728601 ", "737546-3",
])
def test_business_id_with_wrong_check_digit_is_refused(value):
    with pytest.raises(InvalidValue, match="check digit is wrong"):
        normalise_business_id(value)


@pytest.mark.parametrize("value", [
    "0737546-", "-2", "073754-62", "A737546-2", "12345678-9", "0737546-22", "", "   ",
    "7375462",        # six digits and a check digit need the hyphen: or seven, no check?
    "0737546",        # no check digit
    "073754622",      # nine digits
    "FI737546-2",     # a VAT number has eight digits
    "FI0737546",
    "SE07375462",     # not Finnish
    "FI-07375462",
    "0 737546-2",
    "０７３７５４６-２",  # full-width digits
])
def test_business_id_of_wrong_shape_is_refused(value):
    with pytest.raises(InvalidValue, match="must look like 1234567-8"):
        normalise_business_id(value)


@pytest.mark.parametrize("body", REMAINDER_ONE_BODIES)
def test_business_id_whose_body_has_no_check_digit_is_refused(body):
    assert len(REMAINDER_ONE_BODIES) == 2
    for digit in range(10):  # no check digit at all fits such a body
        for typed in (f"{body}-{digit}", f"{body}{digit}", f"FI{body}{digit}"):
            with pytest.raises(InvalidValue, match="not a valid business ID"):
                normalise_business_id(typed)


# -- phones ---------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("040 123 4567", "+358401234567"),
    ("0401234567", "+358401234567"),
    ("050-1234567", "+358501234567"),
    ("09 1234 567", "+35891234567"),
    ("(09) 4289 1234", "+358942891234"),
    ("+358 40 123 4567", "+358401234567"),
    ("00358 40 123 4567", "+358401234567"),
    ("+46 8 123 456 78", "+46812345678"),
    ("+46 70 123 45 67", "+46701234567"),
    ("+1 202 555 0100", "+12025550100"),
])
def test_phone_normalised_to_e164(value, expected):
    assert normalise_phone(value) == expected


def test_phone_read_by_another_region():
    assert normalise_phone("070-123 45 67", region="SE") == "+46701234567"


@pytest.mark.parametrize("value, message", [
    ("abc", "not a phone number"),
    ("soita minulle", "not a phone number"),
    ("", "not a phone number"),
    ("123", "not a valid phone number"),
    ("040 12", "not a valid phone number"),
    ("+358 40", "not a valid phone number"),
    ("+46 70 12", "not a valid phone number"),
    ("040 123 4567 8901 234", "not a valid phone number"),
])
def test_bad_phone_refused(value, message):
    with pytest.raises(InvalidValue, match=message):
        normalise_phone(value)


# -- emails ---------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("aino.aaltonen@esimerkki.fi", "aino.aaltonen@esimerkki.fi"),
    ("Aino.Aaltonen@Esimerkki.FI", "Aino.Aaltonen@esimerkki.fi"),  # domain lower-cased
    ("  aino@firma.example ", "aino@firma.example"),
    ("aino+crm@sub.firma.example", "aino+crm@sub.firma.example"),
])
def test_email_normalised(value, expected):
    assert normalise_email(value) == expected


@pytest.mark.parametrize("value", [
    "aino", "aino@", "@firma.fi", "aino@localhost", "aino aaltonen@firma.fi",
    "aino@@firma.fi", "aino@firma..fi", "aino@firma,fi", "",
])
def test_bad_email_refused(value):
    with pytest.raises(InvalidValue, match="not a valid email address"):
        normalise_email(value)


# -- postal codes ---------------------------------------------------------------


@pytest.mark.parametrize("value, country, expected", [
    ("00100", "FI", "00100"),
    (" 45100 ", "FI", "45100"),
    ("114 55", "SE", "114 55"),
    ("sw1a 1aa", "GB", "SW1A 1AA"),
    ("10115", "de", "10115"),
])
def test_postal_code_accepted(value, country, expected):
    assert normalise_postal_code(value, country) == expected


@pytest.mark.parametrize("value, country, message", [
    ("0010", "FI", "five digits"),
    ("001000", "FI", "five digits"),
    ("ABCDE", "FI", "five digits"),
    ("00 100", "FI", "five digits"),
    ("", "FI", "five digits"),
    ("1", "SE", "not a valid postal code"),
    ("!!!", "SE", "not a valid postal code"),
    ("12345678901", "DE", "not a valid postal code"),
])
def test_bad_postal_code_refused(value, country, message):
    with pytest.raises(InvalidValue, match=message):
        normalise_postal_code(value, country)


# -- the WTForms validators -----------------------------------------------------


class ContactForm(Form):
    phone = StringField("phone", validators=[v.phone()])
    email = StringField("email", validators=[v.email()])
    postal_code = StringField("postal_code", validators=[v.postal_code()])
    country = StringField("country")
    notes = StringField("notes", validators=[v.NoSensitiveData()])


class OrganisationForm(Form):
    business_id = StringField("business_id", validators=[v.business_id()])
    visiting_postal_code = StringField("visiting_postal_code", validators=[v.postal_code()])


def test_form_validators_normalise_good_values():
    form = ContactForm(data={"phone": "040 123 4567", "email": "Aino@Firma.EXAMPLE",
                             "postal_code": " 00100", "country": "FI", "notes": "Soita"})
    assert form.validate(), form.errors
    assert form.data == {"phone": "+358401234567", "email": "Aino@firma.example",
                         "postal_code": "00100", "country": "FI", "notes": "Soita"}


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_form_validators_treat_blank_as_no_value(blank):
    form = ContactForm(data={"phone": blank, "email": blank, "postal_code": blank,
                             "country": "FI"})
    assert form.validate(), form.errors
    assert form.phone.data is None and form.email.data is None
    assert form.postal_code.data is None


def test_form_validators_name_the_wrong_fields():
    form = ContactForm(data={"phone": "123", "email": "aino@", "postal_code": "1234",
                             "country": "FI", "notes": "hetu 131052-308T"})
    assert not form.validate()
    assert form.errors == {
        "phone": ["This is not a valid phone number."],
        "email": ["This is not a valid email address."],
        "postal_code": ["A Finnish postal code has five digits."],
        "notes": ["Contains a Finnish personal identity code (henkilötunnus); "
                  "the register must not hold one."],
    }


def test_postal_code_validator_follows_the_contacts_country():
    swedish = ContactForm(data={"postal_code": "114 55", "country": "SE"})
    assert swedish.validate(), swedish.errors
    assert swedish.postal_code.data == "114 55"
    finnish = ContactForm(data={"postal_code": "114 55", "country": "FI"})
    assert not finnish.validate()
    assert finnish.errors["postal_code"] == ["A Finnish postal code has five digits."]


def test_postal_code_validator_without_country_field_means_finland():
    form = OrganisationForm(data={"business_id": "0737546-2", "visiting_postal_code": "114 55"})
    assert not form.validate()
    assert form.errors == {"visiting_postal_code": ["A Finnish postal code has five digits."]}
    form = OrganisationForm(data={"business_id": "737546-2", "visiting_postal_code": "45100"})
    assert form.validate(), form.errors
    assert form.business_id.data == "0737546-2"


@pytest.mark.parametrize("typed", ["FI07375462", "07375462", " 0737546 - 2 "])
def test_business_id_validator_stores_a_copied_business_id_as_nnnnnnn_c(typed):
    form = OrganisationForm(data={"business_id": typed})
    assert form.validate(), form.errors
    assert form.business_id.data == "0737546-2"
    form = OrganisationForm(data={"business_id": typed.replace("2", "3")})
    assert not form.validate()
    assert form.errors == {"business_id": ["The business ID's check digit is wrong."]}


def test_no_sensitive_data_validator_raises_validation_error():
    field = StringField("notes").bind(Form(), "notes")
    field.data = "Kortti 4111 1111 1111 1111"
    with pytest.raises(ValidationError, match="payment card number"):
        v.NoSensitiveData()(None, field)
    field.data = "Kortti vanhentunut"
    v.NoSensitiveData()(None, field)


@pytest.mark.parametrize(("text", "english", "finnish"), [
    ("Hetu 131052-308T", "Contains a Finnish personal identity code (henkilötunnus); the "
     "register must not hold one.", "Sisältää henkilötunnuksen; rekisteriin ei saa tallentaa "
     "henkilötunnuksia."),
    ("Kortti 4111 1111 1111 1111", "Contains a payment card number; the register must not "
     "hold one.", "Sisältää maksukortin numeron;"),
    ("Sairaslomalla", "Mentions health information; the register must not hold any.",
     "Sisältää terveystietoja; rekisteriin ei saa tallentaa terveystietoja."),
])
def test_a_sensitive_data_message_on_its_own_is_a_sentence_in_both_languages(app, text,
                                                                             english, finnish):
    field = StringField("notes").bind(Form(), "notes")
    field.data = text
    for locale, message in (("en", english), ("fi", finnish)):
        with app.test_request_context("/"), force_locale(locale):
            with pytest.raises(ValidationError) as refused:
                v.NoSensitiveData()(None, field)
            assert str(refused.value).startswith(message)
            with pytest.raises(InvalidValue) as refused:
                v.check_free_text(text)
            assert str(refused.value).startswith(message)
            # After a field's name (an import's line errors) it continues in lower case.
            assert find_sensitive(text)[0].islower()


HETU_NAMED = "a Finnish personal identity code (henkilötunnus)"


@pytest.mark.parametrize(("text", "kind", "named"), [
    ("Hetu 131052-308T, sairaslomalla", guard.TEXT, f"{HETU_NAMED} and health information"),
    ("Kortti 4111 1111 1111 1111, hetu 131052-308T", guard.TEXT,
     f"{HETU_NAMED} and a payment card number"),
    ("Masennus; kortti 4111 1111 1111 1111", guard.TEXT,
     "a payment card number and health information"),
    ("131052-308T, 4111 1111 1111 1111, diabetes", guard.TEXT,
     f"{HETU_NAMED}, a payment card number, and health information"),
    # Each kind once, however many times the text holds it.
    (f"131052-308T ja {hetu(1, 1, 1, 'A', 2)}: diabetes, masennus, sairaslomalla",
     guard.TEXT, f"{HETU_NAMED} and health information"),
    ("Diabetes 131052-308T", guard.TITLE, f"{HETU_NAMED} and health information"),
    ("Masentunut; 4111 1111 1111 1111 ja 5555 5555 5555 4444", guard.TITLE,
     "a payment card number and health information"),
])
def test_every_kind_of_sensitive_data_in_a_text_is_named_once(text, kind, named):
    assert find_sensitive(text, kind) == (f"contains {named}; the register must not hold "
                                          "such data.")


@pytest.mark.parametrize(("text", "kind", "message"), [
    # What a field may hold is not named: an organisation's name may mention health.
    ("Syöpäsäätiö 131052-308T", guard.ORGANISATION, "contains a Finnish personal identity "
     "code (henkilötunnus); the register must not hold one."),
    ("Diabeteshoitaja 4111 1111 1111 1111", guard.TITLE, "contains a payment card number; "
     "the register must not hold one."),
    ("Sairaslomalla, 131052-308X", guard.TEXT, "mentions health information; the register "
     "must not hold any."),   # not an identity code: its check character is wrong
])
def test_only_what_the_field_may_not_hold_is_named(text, kind, message):
    assert find_sensitive(text, kind) == message


def test_a_form_field_refused_for_several_kinds_names_them_all_in_a_sentence():
    form = ContactForm(data={"notes": "Hetu 131052-308T, on sairaslomalla"})
    assert not form.validate()
    assert form.errors == {"notes": [
        "Contains a Finnish personal identity code (henkilötunnus) and health information; "
        "the register must not hold such data."]}
    with pytest.raises(InvalidValue, match="^Contains a Finnish personal identity code "
                       r"\(henkilötunnus\) and health information;"):
        v.check_free_text("Hetu 131052-308T, on sairaslomalla")


def test_several_kinds_are_named_in_one_sentence_in_finnish_too(app):
    text = "131052-308T, 4111 1111 1111 1111, sairaslomalla"
    with app.test_request_context("/"), force_locale("fi"):
        with pytest.raises(InvalidValue) as refused:
            v.check_free_text(text)
        assert str(refused.value) == ("Sisältää henkilötunnuksen, maksukortin numeron ja "
                                      "terveystietoja; rekisteriin ei saa tallentaa "
                                      "tällaisia tietoja.")
        assert find_sensitive("Hetu 131052-308T, sairaslomalla") == (
            "sisältää henkilötunnuksen ja terveystietoja; rekisteriin ei saa tallentaa "
            "tällaisia tietoja.")


# -- henkilötunnus --------------------------------------------------------------

VALID_HETUS = [
    "131052-308T",                  # the well-known example
    hetu(13, 10, 52, "-", 308),
    hetu(1, 1, 1, "A", 2),          # first serial number
    hetu(29, 2, 0, "A", 123),       # 29 February 2000
    hetu(31, 12, 99, "-", 899),     # last ordinary serial
    hetu(15, 6, 85, "Y", 456),      # the 2023 century signs for the 1900s ...
    hetu(2, 3, 70, "X", 21),
    hetu(4, 4, 64, "W", 44),
    hetu(5, 5, 55, "V", 555),
    hetu(6, 6, 66, "U", 666),
    hetu(7, 7, 7, "B", 222),        # ... and for the 2000s
    hetu(8, 8, 8, "C", 333),
    hetu(9, 9, 9, "D", 700),
    hetu(10, 10, 10, "E", 100),
    hetu(11, 11, 11, "F", 111),
    hetu(1, 1, 80, "+", 500),       # 1880
    hetu(20, 1, 95, "-", 905),      # temporary identity code (900-999)
]


@pytest.mark.parametrize("code", VALID_HETUS)
def test_valid_henkilotunnus_in_text_is_refused(code):
    for template in ("{}", "Henkilötunnus {}, soita iltaisin", "Asiakkaan hetu oli ({}).",
                     "hetu:{}", "SSN {}\nrest of the note"):
        text = template.format(code)
        assert "henkilötunnus" in (find_sensitive(text) or ""), text


def test_henkilotunnus_with_lower_case_check_character_is_refused():
    assert find_sensitive("hetu 131052-308t") is not None


def _wrong_check(code: str) -> str:
    right = HETU_CHECK.index(code[-1])
    return code[:-1] + HETU_CHECK[(right + 1) % 31]


@pytest.mark.parametrize("text", [
    *(_wrong_check(c) for c in VALID_HETUS[:6]),
    hetu(31, 2, 52, "-", 308),   # 31 February
    hetu(29, 2, 1, "A", 308),    # 29 February 2001: not a leap year
    hetu(32, 1, 52, "-", 308),   # day 32
    hetu(1, 13, 52, "-", 308),   # month 13
    hetu(0, 1, 52, "-", 308),    # day 0
    hetu(13, 10, 52, "-", 0),    # serial 000 is never issued
    hetu(13, 10, 52, "-", 1),    # nor 001
    "131052G308T",               # not a century sign
    "131052-308",                # no check character
    "X131052-308T",              # part of a longer code
    "131052-308TX",
    "Tilaus 2026-000123, toimitus 24.11.2026",
])
def test_not_a_henkilotunnus_is_ordinary_text(text):
    assert find_sensitive(text) is None


# -- payment cards --------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "4111111111111111",
    "Kortti 4111 1111 1111 1111, voimassa 12/27",
    "card 4111-1111-1111-1111",
    "5555 5555 5555 4444",
    "Amex 3782 822463 10005",
    "6011 1111 1111 1117",
    luhn_complete("222100000000000"),           # Mastercard 2-series, 16 digits
    luhn_complete("455673758689985"),
    luhn_complete("4" + "1" * 17),              # 19 digits
])
def test_card_number_passing_luhn_is_refused(text):
    assert "payment card number" in find_sensitive(text)


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1112",                      # fails the Luhn check
    "5555-5555-5555-4440",
    "4111111111111121",
    "puh. +358 40 123 4567",
    "040 123 4567 tai 050 765 4321",
    "+358401234567, +46701234567",
    "Tilausnumero 2026-000123",
    "Order 12345678",
    "Y-tunnus 0737546-2",
    "IBAN FI21 1234 5600 0007 85",
    luhn_complete("40000000000"),                # 12 digits: too short for a card
    luhn_complete("1" * 15),                     # 16 digits but no card starts with 1
    luhn_complete("4" * 19),                     # 20 digits: a reference number
])
def test_other_numbers_are_not_card_numbers(text):
    assert find_sensitive(text) is None


# -- health ---------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Sairasloma viikon",
    "Hänellä on todettu masennus",
    "diagnoosi tulossa",
    "Syöpähoidot kesken",
    "syövän hoito kesken",
    "Raskaana, palaa syksyllä",
    "lääkitys vaihdettu",
    "diabetes",
    "on sairaalassa",
    "HIV-positiivinen",
    "mielenterveysongelmia",
    "vammainen",
    "Diagnosed with cancer",
    "On medication until May",
    "She is pregnant",
    "suffers from depression",
    "long illness",
    "epilepsy",
    "dementia",
    "disability pension",
    unicodedata.normalize("NFD", "Lääkitys vaihdettu"),   # decomposed ä
])
def test_health_words_are_refused(text):
    assert "health" in find_sensitive(text)


@pytest.mark.parametrize("text", [
    "Tarjous lähetetty, soittaa ensi viikolla",
    "Interested in MFA and SSO",
    "hivenen kalliimpi kuin kilpailija",      # "a little": not HIV
    "Lähetti diagnostiikkalokit tukeen",      # system diagnostics
    "Sent diagnostics logs to support",
    "Hospitality",
    "Pirkanmaan sairaanhoitopiiri",           # a customer: the hospital district
    "Kvartaalin tulos oli masentava",         # depressing, not depressed
])
def test_ordinary_text_is_accepted(text):
    assert find_sensitive(text) is None


@pytest.mark.parametrize("text", ORGANISATION_NAMES + ["Sairaalakatu 3",
                                                      "Syöpäsäätiö, Unioninkatu 22"])
def test_an_organisations_name_and_address_may_hold_health_words(text):
    assert find_sensitive(text, guard.ORGANISATION) is None
    assert "health" in find_sensitive(text)  # not about a person: the field decides


@pytest.mark.parametrize("title", OCCUPATION_TITLES)
def test_a_job_title_may_name_an_occupation_with_a_health_word(title):
    assert find_sensitive(title, guard.TITLE) is None


@pytest.mark.parametrize("title", HEALTH_TITLES)
def test_a_job_title_naming_no_occupation_is_refused_for_its_health_word(title):
    assert "health" in find_sensitive(title, guard.TITLE)


@pytest.mark.parametrize("text", HEALTH_NOTES + OCCUPATION_TITLES)
def test_free_text_about_a_person_is_refused_for_any_health_word(text):
    assert "health" in find_sensitive(text)


@pytest.mark.parametrize("kind", [guard.TEXT, guard.TITLE, guard.ORGANISATION])
def test_identity_codes_and_card_numbers_are_refused_in_every_field(kind):
    assert "henkilötunnus" in find_sensitive("Sairaalan johtaja 131052-308T", kind)
    assert "payment card" in find_sensitive("Syöpäsäätiö 4111 1111 1111 1111", kind)


@pytest.mark.parametrize(("table", "column", "kind"), [
    ("organisation", "name", guard.ORGANISATION),
    ("organisation", "visiting_street", guard.ORGANISATION),
    ("organisation", "invoicing_city", guard.ORGANISATION),
    ("callback_request", "organisation_name", guard.ORGANISATION),
    ("contact", "title", guard.TITLE),
    ("organisation", "relationship_notes", guard.TEXT),   # about the relationship's people
    ("contact", "notes", guard.TEXT),
    ("contact", "street_address", guard.ORGANISATION),    # a place: "Sairaalakatu 3"
    ("contact", "city", guard.ORGANISATION),
    ("source", "supplier", guard.ORGANISATION),           # a purchased list's supplier
    ("activity", "subject", guard.TEXT),
    ("callback_request", "message", guard.TEXT),
])
def test_what_a_field_holds_decides_how_it_is_checked(table, column, kind):
    assert guard.field_kind(table, column) == kind


def test_the_form_validator_checks_a_field_by_what_it_holds():
    field = StringField("title").bind(Form(), "title")
    field.data = "Syöpälääkäri"
    v.NoSensitiveData(guard.TITLE)(None, field)
    with pytest.raises(ValidationError, match="health"):
        v.NoSensitiveData()(None, field)
    field.data = "Masentunut"
    with pytest.raises(ValidationError, match="health"):
        v.NoSensitiveData(guard.TITLE)(None, field)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_text_is_accepted(text):
    assert find_sensitive(text) is None


def test_a_purchased_lists_sensitive_name_is_refused_in_a_sentence(app):
    from crm.services.imports import ImportRefused, _check_list_details

    with app.test_request_context("/"), force_locale("en"):
        with pytest.raises(ImportRefused) as refused:
            _check_list_details("Lista 131052-308T", None)
    assert str(refused.value) == ("List name: contains a Finnish personal identity code "
                                  "(henkilötunnus); the register must not hold one.")
