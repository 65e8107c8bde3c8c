"""Readable names for the audit trail's stored action and object-type codes (DESIGN §9.5).

The trail stores plain codes ("login", "Contact") so that filters and exports stay stable;
screens show them in the reader's language through these labels, and its filters offer
them by these labels (crm.views.audit_filters).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {
    "create": _l("Created"), "update": _l("Changed"), "delete": _l("Deleted"),
    "view": _l("Viewed"), "view_list": _l("Viewed a list"), "find": _l("Searched"),
    "export": _l("Exported"),
    "import": _l("Imported"), "erase": _l("Erased"), "confirm": _l("Confirmed"),
    "verify": _l("Identity verified"), "extend": _l("Deadline extended"),
    "deliver": _l("Answer delivered"), "reject": _l("Request rejected"),
    "object": _l("Objected"), "job": _l("Job run"), "role_change": _l("Roles changed"),
    "art14_notice": _l("Art. 14 notice recorded as sent"),
    "login": _l("Signed in"), "logout": _l("Signed out"),
    "login_failed": _l("Sign-in failed"), "login_refused": _l("Sign-in refused"),
    # A signed-in user refused a page, record, export or API endpoint (a 403).
    "access_denied": _l("Access denied"),
}

OBJECT_TYPES = {
    "Activity": _l("Activity"), "AuditEvent": _l("Audit event"),
    "CallbackRequest": _l("Callback request"), "Consent": _l("Consent"),
    "Contact": _l("Contact"), "ContactChange": _l("Contact change"),
    "DataSubjectRequest": _l("Data subject request"), "Identifier": _l("Identifier"),
    "JobRun": _l("Job run"), "MarketingAudience": _l("Marketing audience"),
    "Organisation": _l("Organisation"), "Provenance": _l("Provenance"),
    "Purpose": _l("Purpose"), "Recipient": _l("Recipient"),
    "RecordOfProcessing": _l("Record of processing"),
    "RetentionPolicy": _l("Retention policy"), "Source": _l("Source"),
    "SuppressionEntry": _l("Suppression list entry"), "User": _l("User"),
}

#: Fields an event may name that no form labels: columns the system sets. Without a
#: name here the trail showed FAB's own guess in English ("Objected At").
FIELDS = {
    "id": _l("Record number"), "version": _l("Record version"),
    "anonymised_at": _l("Anonymised"), "objected_at": _l("Objected to direct marketing"),
    "organisation_id": _l("Organisation"), "source_id": _l("Source"),
    "identifiers": _l("Identifiers"), "activities": _l("Activities"),
}


def action_label(code: str | None) -> str:
    """Return the action in the reader's language; an unknown code as stored."""
    return str(ACTIONS.get(code, code or ""))


def object_type_label(code: str | None) -> str:
    """Return the object type in the reader's language; an unknown code as stored."""
    return str(OBJECT_TYPES.get(code, code or ""))


def table_label(name: str) -> str | None:
    """Return a table's records by their kind in the reader's language ("activity":
    "Toimenpide"), as an access export's audit event names the tables it read; None
    for a table no kind names."""
    if name == "contact_purpose":
        return str(OBJECT_TYPES["Purpose"])
    label = OBJECT_TYPES.get("".join(part.title() for part in name.split("_")))
    return None if label is None else str(label)


def label_choices(labels: dict) -> list[tuple[str, str]]:
    """Return (code, label) of every code of `labels`, by label in the reader's language."""
    return sorted(((code, str(label)) for code, label in labels.items()),
                  key=lambda choice: choice[1].casefold())


def codes_for(labels: dict, typed: str) -> list[str]:
    """Return the stored codes `typed` names: itself (a code, or one no label is known
    for), and every code whose label in the reader's language it is, in any case."""
    typed = typed.strip()
    wanted = typed.casefold()
    named = [code for code, label in labels.items() if str(label).casefold() == wanted]
    return sorted({typed, *named})
