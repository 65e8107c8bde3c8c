"""The printable access export's wording, per language, and how its values read.

The export's language is the person's, chosen on the request's page, whatever the
language of the screen; so its words are here, beside the public notice's
(crm.public.notice_text), rather than in the UI's catalogs. Its values read as the
CRM's screens show them in that language (`ExportReader`): codes by their labels, times
on the register's clock, what an id points at by its name.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, tzinfo

import sqlalchemy as sa
from babel import Locale
from flask_babel import force_locale

from crm.models import Contact, Language, RequestType, SourceKind
from crm.models.base import AwareDateTime, LabelledEnum
from crm.public.notice_text import LABELS
from crm.security.roles import role_label
from crm.services.audit_details import detail_text, reason_text
from crm.services.audit_labels import action_label, object_type_label
from crm.services.validation import format_phone

EXPORT_TEXT: dict[str, dict[str, str]] = {
    "fi": {
        "title": "Rekisteröidyn tiedot: tarkastusoikeus",
        "intro": "Tämä on kopio kaikista tiedoista, joita rekisterissämme on sinusta, sekä "
                 "EU:n tietosuoja-asetuksen 15 artiklan mukaiset tiedot niiden käsittelystä.",
        "generated": "Muodostettu",
        "controller": "Rekisterinpitäjä",
        "register_contact": "Rekisteriasioiden yhteyshenkilö",
        "dpo": "Tietosuojavastaava",
        "purposes": "Käsittelyn tarkoitukset",
        "legal_basis": "Käsittelyn oikeusperuste",
        "categories": "Käsiteltävät tietoryhmät",
        "recipients": "Vastaanottajat ja siirrot EU/ETA-alueen ulkopuolelle",
        "outside_eea": "siirto EU/ETA-alueen ulkopuolelle",
        "safeguard": "Siirron peruste",
        "invalid_safeguard": "EI PÄTEVÄ: EU–US Privacy Shield mitätöitiin 16.7.2020 "
                             "(C-311/18).",
        "retention": "Säilytysajat",
        "months": "kk",
        "anonymise": "anonymisoidaan",
        "delete": "poistetaan",
        "sources": "Mistä tietosi on saatu",
        "supplier": "toimittaja",
        "received": "vastaanotettu",
        "file_hash": "tiedoston SHA-256",
        "rights": "Oikeutesi",
        "authority": "Valvontaviranomainen",
        "profiling": "Automaattinen päätöksenteko ja profilointi",
        "your_data": "Tietosi",
        "none": "Ei tietoja.",
        "by_role": "Henkilökunnan jäsenet näytetään roolin mukaan, ei nimellä.",
        "machine_readable": "Tiedot ovat saatavilla myös koneluettavassa JSON-muodossa.",
        "contact": "Yhteystiedot",
        "contact_purpose": "Käsittelyn tarkoitukset",
        "organisation": "Organisaatio",
        "identifier": "Tunnisteet järjestelmissämme",
        "consent": "Suostumukset",
        "provenance": "Tietojen alkuperä",
        "source": "Tietolähteet",
        "activity": "Yhteydenotot ja muistiinpanot",
        "callback_request": "Soittopyynnöt",
        "data_subject_request": "Pyyntösi",
        "contact_change": "Tietojesi muutoshistoria",
        "audit_event": "Tietojesi käsittelyloki",
        "mailchimp_member": "Jäsenyys Mailchimp-postituslistalla",
        "yes": "kyllä",
        "no": "ei",
        "actor_system": "Järjestelmä",
        "actor_staff": "Henkilökunnan jäsen",
    },
    "en": {
        "title": "Your personal data: access request",
        "intro": "This is a copy of all the data our register holds about you, with the "
                 "information on its processing required by Article 15 of the GDPR.",
        "generated": "Generated",
        "controller": "Controller",
        "register_contact": "Contact for register matters",
        "dpo": "Data protection officer",
        "purposes": "Purposes of the processing",
        "legal_basis": "Legal basis of the processing",
        "categories": "Categories of personal data",
        "recipients": "Recipients and transfers outside the EU/EEA",
        "outside_eea": "transfer outside the EU/EEA",
        "safeguard": "Transfer safeguard",
        "invalid_safeguard": "NOT VALID: the EU–US Privacy Shield was invalidated on 16 July "
                             "2020 (C-311/18).",
        "retention": "Retention periods",
        "months": "months",
        "anonymise": "anonymised",
        "delete": "deleted",
        "sources": "Where your data came from",
        "supplier": "supplier",
        "received": "received",
        "file_hash": "file SHA-256",
        "rights": "Your rights",
        "authority": "Supervisory authority",
        "profiling": "Automated decision-making and profiling",
        "your_data": "Your data",
        "none": "No data.",
        "by_role": "Members of staff are shown by their role, not by name.",
        "machine_readable": "The data is also available in machine-readable JSON.",
        "contact": "Contact details",
        "contact_purpose": "Purposes of processing",
        "organisation": "Organisation",
        "identifier": "Identifiers in our systems",
        "consent": "Consents",
        "provenance": "Origin of the data",
        "source": "Sources",
        "activity": "Contacts and notes",
        "callback_request": "Callback requests",
        "data_subject_request": "Your requests",
        "contact_change": "History of changes to your data",
        "audit_event": "Log of the processing of your data",
        "mailchimp_member": "Membership of the Mailchimp mailing list",
        "yes": "yes",
        "no": "no",
        "actor_system": "System",
        "actor_staff": "Staff member",
    },
}

#: Column names as shown in the printable export; a column not named shows its own name.
FIELD_LABELS: dict[str, dict[str, str]] = {
    "fi": {
        "id": "Tunnus", "contact": "Yhteyshenkilö", "first_name": "Etunimi",
        "last_name": "Sukunimi", "title": "Tehtävänimike",
        "organisation": "Organisaatio", "email": "Sähköposti", "alt_email": "Muu sähköposti",
        "phone": "Puhelin", "mobile": "Matkapuhelin", "street_address": "Katuosoite",
        "postal_code": "Postinumero", "city": "Postitoimipaikka", "country": "Maa",
        "language": "Kieli", "notes": "Muistiinpanot", "legal_basis": "Käsittelyperuste",
        "purposes": "Käyttötarkoitukset", "marketing_status": "Markkinoinnin tila",
        "objected_at": "Vastustanut suoramarkkinointia",
        "relationship_role": "Rooli asiakassuhteessa",
        "relationship_notes": "Asiakassuhteen muistiinpanot",
        "last_activity_at": "Viimeisin yhteydenotto", "anonymised_at": "Anonymisoitu",
        "legal_hold": "Säilytysvelvoite", "created_at": "Luotu", "updated_at": "Päivitetty",
        "system": "Järjestelmä", "identifier": "Tunniste", "purpose": "Käyttötarkoitus",
        "text_version": "Suostumustekstin versio", "given_at": "Annettu",
        "given_how": "Antotapa",
        "evidence": "Todiste", "withdrawn_at": "Peruttu", "recorded_at": "Kirjattu",
        "art14_due_on": "14 artiklan ilmoitus viimeistään",
        "art14_notified_at": "14 artiklan ilmoitus lähetetty",
        "kind": "Laji", "name": "Nimi", "supplier": "Toimittaja", "received_on": "Vastaanotettu",
        "file_hash": "Tiedoston SHA-256", "subject": "Aihe", "body": "Sisältö",
        "occurred_at": "Ajankohta", "author": "Kirjaaja (rooli)",
        "organisation_name": "Organisaatio", "message": "Viesti", "status": "Tila",
        "received_at": "Vastaanotettu", "handled_by": "Käsitellyt (rooli)",
        "handled_at": "Käsitelty", "type": "Tyyppi", "requester_name": "Pyytäjä",
        "requester_email": "Pyytäjän sähköposti", "requester_phone": "Pyytäjän puhelin",
        "channel": "Vastaanottotapa",
        "identity_verified_how": "Henkilöllisyyden varmistustapa",
        "identity_verified_by": "Henkilöllisyyden varmistaja (rooli)",
        "identity_verified_at": "Henkilöllisyys varmistettu",
        "due_on": "Määräpäivä", "extended_due_on": "Pidennetty määräpäivä",
        "extension_reason": "Pidennyksen syy",
        "extension_notified_on": "Pidennyksestä ilmoitettu",
        "outcome": "Lopputulos", "delivered_at": "Toimitettu", "delivered_how": "Toimitustapa",
        "changed_at": "Muutettu", "changed_by": "Muuttaja (rooli)", "field": "Kenttä",
        "old_value": "Vanha arvo", "new_value": "Uusi arvo", "reason": "Syy",
        "at": "Ajankohta", "actor": "Tekijä (rooli)", "action": "Toiminto",
        "object_type": "Kohde", "object_id": "Kohteen tunnus", "fields": "Kentät",
        "detail": "Lisätieto", "subscriber_hash": "Mailchimp-tunniste",
        "contact_version": "Lähetetty versio", "last_synced_at": "Viimeksi synkronoitu",
        "source": "Lähde", "request": "Pyyntö", "contact_record": "Yhteystietojen tunnus",
        "callback_request_id": "Soittopyynnön tunnus",
        "erasure_result": "Poiston tulos", "consent_version": "Suostumustekstin versio",
        "consent_language": "Suostumustekstin kieli", "consent": "Suostumus",
    },
    "en": {
        "id": "Id", "contact": "Contact", "first_name": "First name",
        "last_name": "Last name", "title": "Title",
        "organisation": "Organisation", "email": "Email", "alt_email": "Other email",
        "phone": "Phone", "mobile": "Mobile", "street_address": "Street address",
        "postal_code": "Postal code", "city": "City", "country": "Country",
        "language": "Language", "notes": "Notes", "legal_basis": "Legal basis",
        "purposes": "Purposes", "marketing_status": "Marketing status",
        "objected_at": "Objected to direct marketing",
        "relationship_role": "Role in the customer relationship",
        "relationship_notes": "Relationship notes", "last_activity_at": "Last activity",
        "anonymised_at": "Anonymised", "legal_hold": "Legal hold", "created_at": "Created",
        "updated_at": "Updated", "system": "System", "identifier": "Identifier",
        "purpose": "Purpose", "text_version": "Consent text version", "given_at": "Given",
        "given_how": "Given how", "evidence": "Evidence", "withdrawn_at": "Withdrawn",
        "recorded_at": "Recorded", "art14_due_on": "Art. 14 notice due",
        "art14_notified_at": "Art. 14 notice sent", "kind": "Kind", "name": "Name",
        "supplier": "Supplier", "received_on": "Received", "file_hash": "File SHA-256",
        "subject": "Subject", "body": "Details", "occurred_at": "Date",
        "author": "Author (role)", "organisation_name": "Organisation", "message": "Message",
        "status": "Status", "received_at": "Received", "handled_by": "Handled by (role)",
        "handled_at": "Handled", "type": "Type", "requester_name": "Requester",
        "requester_email": "Requester's email", "requester_phone": "Requester's phone",
        "channel": "Received by", "identity_verified_how": "Identity verified how",
        "identity_verified_by": "Identity verified by (role)",
        "identity_verified_at": "Identity verified", "due_on": "Due",
        "extended_due_on": "Extended to", "extension_reason": "Reason for extension",
        "extension_notified_on": "Told of extension", "outcome": "Outcome",
        "delivered_at": "Delivered", "delivered_how": "Delivered how",
        "changed_at": "Changed", "changed_by": "Changed by (role)", "field": "Field",
        "old_value": "Old value", "new_value": "New value", "reason": "Reason", "at": "When",
        "actor": "Who (role)", "action": "Action", "object_type": "Object",
        "object_id": "Object id", "fields": "Fields", "detail": "Detail",
        "subscriber_hash": "Mailchimp id", "contact_version": "Version sent",
        "last_synced_at": "Last synchronised", "source": "Source", "request": "Request",
        "callback_request_id": "Callback request id",
        "contact_record": "Contact record id", "erasure_result": "Result of the erasure",
        "consent_version": "Consent text version", "consent_language": "Consent text language",
        "consent": "Consent",
    },
}


def local_date(value: date, lang: str) -> str:
    """Return the day as the reader writes it: 5.2.2026 in Finnish, 05/02/2026 in English
    (as the screens do: crm.views.dates)."""
    if lang == "fi":
        return f"{value.day}.{value.month}.{value.year}"
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def local_datetime(value: datetime, lang: str, zone: tzinfo) -> str:
    """Return the time on the register's clock `zone`, to the minute: 25.11.2026 13.43 in
    Finnish, 25/11/2026 13:43 in English."""
    local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
    if lang == "fi":
        return f"{local_date(local.date(), lang)} {local.hour}.{local.minute:02d}"
    return f"{local_date(local.date(), lang)} {local.hour:02d}:{local.minute:02d}"


def _standing_names(kind: str) -> set[str]:
    """Return every name a standing source of `kind` goes by: its label in each language."""
    names = {labels[kind] for labels in LABELS.values() if kind in labels}
    for lang in EXPORT_TEXT:
        with force_locale(lang):
            names.add(str(SourceKind(kind).label))
    return {name.casefold() for name in names}


#: Who acted when no member of staff did (a job, the command line), and a member of staff
#: with no role: the JSON holds these words, the printable export reads them in its language.
SYSTEM = "system"
STAFF = "staff member"
#: The columns naming a member of staff, which the export gives as their role ("Sales").
STAFF_COLUMNS = {"author", "handled_by", "identity_verified_by", "changed_by", "actor",
                 "received_by"}
#: The columns holding a phone number, stored in E.164 ("+358401234567"): read grouped.
PHONE_COLUMNS = {"phone", "mobile", "requester_phone"}
#: The columns holding a country's ISO code ("FI"): read as the country's name.
COUNTRY_COLUMNS = {"country"}
#: The columns holding a language's code ("fi") as plain text: read as its name.
LANGUAGE_COLUMNS = {"consent_language"}


class ExportReader:
    """The export's records as the person reads them in `lang`: each value under its
    label, codes by the labels the CRM shows for them, times on the register's clock
    (`zone`), phone numbers grouped as people write them, countries by their names in
    `lang`, and the rows an id points at by name (organisation, source, purpose,
    request). Every value is kept; only bare ids that the names replace are left out.
    Works on the export's own data: no queries.
    """

    EMPTY = "—"

    def __init__(self, export: dict, lang: str, zone: tzinfo) -> None:
        from flask_appbuilder import Model

        self.lang, self.zone = lang, zone
        self.words, self.fields = EXPORT_TEXT[lang], FIELD_LABELS[lang]
        self.tables = Model.metadata.tables
        self.territories = Locale.parse(lang).territories
        records = export["records"]
        self.several = len(export["subject"]["contact_ids"]) > 1
        self.organisations = {r["id"]: r["name"] for r in records.get("organisation", [])}
        self.sources = {r["id"]: r for r in records.get("source", [])}
        self.requests = {r["id"]: r for r in records.get("data_subject_request", [])}
        self.purposes = {r["purpose"]: r["name_fi" if lang == "fi" else "name_en"]
                         for r in records.get("contact_purpose", [])}
        for purpose in export["information"]["purposes"]:
            self.purposes.setdefault(purpose["code"], purpose["name"])
        self.standing = {kind.value: _standing_names(kind.value) for kind in SourceKind}

    def sections(self, records: dict[str, list[dict]]) -> list[dict]:
        """Return each table's title and rows, a row as (label, text) pairs."""
        with force_locale(self.lang):
            return [{"name": name, "title": self.words.get(name, name),
                     "rows": [self.row(name, row) for row in rows]}
                    for name, rows in records.items()]

    def row(self, table: str, row: dict) -> list[tuple[str, str]]:
        cells = (self.cell(table, key, value, row) for key, value in row.items())
        return [cell for cell in cells if cell is not None]

    def cell(self, table: str, key: str, value, row: dict) -> tuple[str, str] | None:
        """Return the value's label and text, or None for an id the others name."""
        label = self.fields.get(key, key)
        if key == "contact_id" and table != "contact":
            # Whose row it is matters only when the person has several contact records.
            return (self.fields["contact_record"], self.text(value)) if self.several else None
        if table == "contact" and key == "organisation":
            return None  # shown in the place of organisation_id
        if key == "organisation_id":
            return self.fields["organisation"], self.text(self.organisations.get(value, value))
        if key == "source_id":
            return self.fields["source"], self.source(value)
        if key == "request_id":
            return self.fields["request"], self.request(value)
        if key == "purpose_id" or (table == "contact_purpose" and key in ("name_fi",
                                                                          "name_en")):
            return None  # the purpose's name in the reader's language is shown
        if key in STAFF_COLUMNS and isinstance(value, str):
            return label, self.staff(value)
        if key == "purpose":
            return label, self.purpose(value)
        if key == "purposes":
            return label, ", ".join(self.purpose(code) for code in value) or self.EMPTY
        if table == "audit_event" and key == "action":
            return label, action_label(value)
        if table == "audit_event" and key == "object_type":
            return label, object_type_label(value)
        if table == "audit_event" and key == "fields" and value:
            # An export's event names tables; any other event names fields.
            names = self.words if row.get("action") == "export" else self.fields
            return label, ", ".join(names.get(name, self.fields.get(name, name))
                                    for name in value)
        if table == "audit_event" and key == "detail" and value:
            return label, detail_text(value)
        if table == "contact_change" and key == "field":
            return label, self.fields.get(value, value)
        if table == "contact_change" and key == "reason" and value:
            # The system's reasons are codes, read in the export's language (the
            # sections are read under its locale); a user's as typed.
            return label, reason_text(value)
        if table == "contact_change" and key in ("old_value", "new_value"):
            return label, self.changed(row.get("field"), value)
        if key in PHONE_COLUMNS:
            return label, self.phone(value)
        if key in COUNTRY_COLUMNS:
            return label, self.country(value)
        if key in LANGUAGE_COLUMNS:
            return label, self.language(value)
        return label, self.text(value, self._column(table, key))

    def text(self, value, column: sa.Column | None = None) -> str:
        """Return `value` as the screens show it; by `column`'s type when there is one."""
        if value is None or value == "" or value == []:
            return self.EMPTY
        if isinstance(value, bool):
            return self.words["yes" if value else "no"]
        if column is not None and isinstance(value, str):
            kind = column.type
            labelled = getattr(kind, "enum_class", None)
            try:
                if labelled is not None and issubclass(labelled, LabelledEnum):
                    return str(labelled(value).label)
                if isinstance(kind, AwareDateTime | sa.DateTime):
                    return local_datetime(datetime.fromisoformat(value), self.lang, self.zone)
                if isinstance(kind, sa.Date):
                    return local_date(date.fromisoformat(value), self.lang)
            except ValueError:
                return value  # not what the column holds now: shown as stored
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, list):
            return ", ".join(self.text(item) for item in value)
        return str(value)

    def changed(self, field: str | None, value: str | None) -> str:
        """Return a contact's old or new value (stored as text) as its field shows it."""
        if field == "source_id" and value and value.isdigit():
            return self.source(int(value))
        if field in PHONE_COLUMNS:
            return self.phone(value)
        if field in COUNTRY_COLUMNS:
            return self.country(value)
        column = Contact.__table__.c.get(field) if field else None
        if column is not None and isinstance(column.type, sa.Boolean) \
                and value in ("true", "false"):
            return self.words["yes" if value == "true" else "no"]
        return self.text(value, column)

    def source(self, source_id: int | None) -> str:
        """Return the source's name; a standing source's by its kind in the reader's words."""
        source = self.sources.get(source_id)
        if source is None:
            return self.text(source_id)
        if source["name"].casefold() in self.standing.get(source["kind"], ()):
            return str(SourceKind(source["kind"]).label)
        return source["name"]

    def source_name(self, kind: str, name: str) -> str | None:
        """Return the source's name for the Art. 15 list beside its kind's label; None for
        a standing source named by its kind (not "Oma toimintamme: Oma toimintamme")."""
        return None if name.casefold() in self.standing.get(kind, ()) else name

    def staff(self, roles: str) -> str:
        """Return who acted as the screens name their roles ("Myynti, Tietosuoja")."""
        if roles == SYSTEM:
            return self.words["actor_system"]
        if roles == STAFF:
            return self.words["actor_staff"]
        return ", ".join(role_label(name) for name in roles.split(", "))

    def phone(self, number: str | None) -> str:
        """Return a stored E.164 number as people write it: "+358 40 1234567"."""
        return format_phone(number) or self.EMPTY

    def country(self, code: str | None) -> str:
        """Return a country's code as its name in the reader's language: "US" is
        "Yhdysvallat" in Finnish, "United States" in English; an unknown code as it is."""
        if not code:
            return self.EMPTY
        return self.territories.get(code.upper(), code)

    def language(self, code: str | None) -> str:
        """Return a language's code as the screens name the language ("fi": "Suomi")."""
        try:
            return str(Language(code).label)
        except ValueError:
            return self.text(code)

    def purpose(self, code: str | None) -> str:
        return self.purposes.get(code, code) if code else self.EMPTY

    def request(self, request_id: int | None) -> str:
        """Return the request as "<type> <day received>", e.g. "Tarkastuspyyntö 5.2.2026"."""
        request = self.requests.get(request_id)
        if request is None:
            return self.text(request_id)
        return " ".join((str(RequestType(request["type"]).label),
                         local_date(date.fromisoformat(request["received_on"]), self.lang)))

    def when(self, value: str | None) -> str:
        """Return an ISO date or time from the export as the reader writes it."""
        if not value:
            return self.EMPTY
        if len(value) == 10:
            return local_date(date.fromisoformat(value), self.lang)
        return local_datetime(datetime.fromisoformat(value), self.lang, self.zone)

    def _column(self, table: str, key: str) -> sa.Column | None:
        columns = self.tables[table].c if table in self.tables else None
        return columns.get(key) if columns is not None else None
