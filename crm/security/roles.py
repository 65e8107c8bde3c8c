"""Roles and permissions as data (DESIGN §6), synced into FAB's tables by `crm init`.

Each CRM screen is a resource; its actions are `can_read`, `can_add`, `can_edit`,
`can_delete` and `can_export`. Groups of fields that only some roles may see or
change are resources of their own (`CustomerRelationship`, `Invoicing`,
`MarketingConsent`) with `can_read` and `can_edit`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

READ = "can_read"
ADD = "can_add"
EDIT = "can_edit"
DELETE = "can_delete"
EXPORT = "can_export"
RUN = "can_run"

#: Letters used in the matrix below, as in DESIGN §6 (R read, W write, X export).
LETTERS = {"R": (READ,), "A": (ADD,), "E": (EDIT,), "W": (ADD, EDIT), "D": (DELETE,),
           "X": (EXPORT,), "U": (RUN,)}

# Screens.
ORGANISATION = "Organisation"
CONTACT = "Contact"
IDENTIFIER = "Identifier"
CONSENT = "Consent"
PROVENANCE = "Provenance"
SOURCE = "Source"
ACTIVITY = "Activity"
CALLBACK_REQUEST = "CallbackRequest"
PURCHASED_LIST_IMPORT = "PurchasedListImport"
MARKETING_AUDIENCE = "MarketingAudience"
DATA_SUBJECT_REQUEST = "DataSubjectRequest"
RETENTION_POLICY = "RetentionPolicy"
JOB_RUN = "JobRun"
RECIPIENT = "Recipient"
AUDIT_EVENT = "AuditEvent"
#: A contact's change history: old values of fields in every field group, so only the
#: roles reading all of them (the privacy officer and the DPO).
CONTACT_CHANGE = "ContactChange"
#: The Art. 30 record of processing, generated from the registers (a download).
RECORD_OF_PROCESSING = "RecordOfProcessing"
USER_ADMIN = "UserAdmin"
# Field groups.
ORGANISATION_PROFILE = "OrganisationProfile"
CUSTOMER_RELATIONSHIP = "CustomerRelationship"
INVOICING = "Invoicing"
MARKETING_CONSENT = "MarketingConsent"

ROLES = ("Sales", "Marketing", "Communications", "Receivables", "Support", "Privacy",
         "DPO", "Admin", "Maintainer")
#: The roles as the screens name them, in the reader's language. The role names are
#: the messages, as the reminders on the jobs screen translate them (audience_text).
ROLE_LABELS = {
    "Sales": _l("Sales"), "Marketing": _l("Marketing"), "Communications": _l("Communications"),
    "Receivables": _l("Receivables"), "Support": _l("Support"), "Privacy": _l("Privacy"),
    "DPO": _l("DPO"), "Admin": _l("Admin"), "Maintainer": _l("Maintainer"),
}


def role_label(name: str) -> str:
    """Return a role's name in the reader's language (a role not the CRM's: as it is)."""
    return str(ROLE_LABELS.get(name, name))


#: Groups of fields on a screen (on contacts and organisations) with permissions of
#: their own: a role sees them only if it may read the group, changes them only if it
#: may edit it. Every other resource is a screen.
FIELD_GROUPS = (ORGANISATION_PROFILE, CUSTOMER_RELATIONSHIP, INVOICING, MARKETING_CONSENT)

#: The actions in the order the roles page names them, in the reader's language.
ACTION_LABELS = {
    READ: _l("read"), ADD: _l("add"), EDIT: _l("edit"), DELETE: _l("delete"),
    EXPORT: _l("export"), RUN: _l("run"),
}

#: Every resource as the roles page names it, in the reader's language: a screen by
#: its menu entry, where it has one. `RETENTION_POLICY` also guards the legal hold of
#: contacts and organisations; reading `USER_ADMIN` also opens the roles page.
RESOURCE_LABELS = {
    ORGANISATION: _l("Organisations"), CONTACT: _l("Contacts"),
    IDENTIFIER: _l("Identifiers"), CONSENT: _l("Consents"), PROVENANCE: _l("Provenance"),
    SOURCE: _l("Sources and purchased lists"), ACTIVITY: _l("Activities"),
    CALLBACK_REQUEST: _l("Callback requests"), PURCHASED_LIST_IMPORT: _l("Purchased-list import"),
    MARKETING_AUDIENCE: _l("Marketing audience"),
    DATA_SUBJECT_REQUEST: _l("Data subject requests"),
    RETENTION_POLICY: _l("Retention policies and legal holds"), JOB_RUN: _l("Job runs"),
    RECIPIENT: _l("Recipients and processors"), AUDIT_EVENT: _l("Audit trail"),
    CONTACT_CHANGE: _l("Change history"), RECORD_OF_PROCESSING: _l("Record of processing"),
    USER_ADMIN: _l("User accounts"),
    ORGANISATION_PROFILE: _l("Organisation details"),
    CUSTOMER_RELATIONSHIP: _l("Customer relationship"), INVOICING: _l("Invoicing"),
    MARKETING_CONSENT: _l("Marketing status"),
}


def resource_label(resource: str) -> str:
    """Return a resource's name in the reader's language (an unknown one: as it is)."""
    return str(RESOURCE_LABELS.get(resource, resource))


#: resource -> role -> letters. A role missing from a row has nothing on it.
MATRIX: dict[str, dict[str, str]] = {
    # Privacy edits an organisation's legal hold only (all its other fields are in groups).
    ORGANISATION: {"Sales": "RW", "Marketing": "R", "Communications": "R",
                   "Receivables": "RE", "Support": "R", "Privacy": "RE", "DPO": "R"},
    ORGANISATION_PROFILE: {"Sales": "RE", "Marketing": "R", "Communications": "R",
                           "Receivables": "R", "Support": "R", "Privacy": "R", "DPO": "R"},
    CONTACT: {"Sales": "RW", "Marketing": "RW", "Communications": "R", "Receivables": "R",
              "Support": "RW", "Privacy": "RW", "DPO": "R"},
    # Communications send newsletters: a contact's name, organisation, email and marketing
    # status is all their work needs (§6). Login ids in the company's systems and where a
    # person came from (the purchased list, its supplier, the Art. 14 notice) are not theirs.
    IDENTIFIER: {"Sales": "RW", "Marketing": "RW", "Receivables": "R", "Support": "RW",
                 "Privacy": "RWD", "DPO": "R"},
    PROVENANCE: {"Sales": "R", "Marketing": "R", "Receivables": "R", "Support": "R",
                 "Privacy": "R", "DPO": "R"},
    CUSTOMER_RELATIONSHIP: {"Sales": "RE", "Marketing": "R", "Receivables": "R",
                            "Support": "R", "Privacy": "R", "DPO": "R"},
    INVOICING: {"Receivables": "RE", "Privacy": "R", "DPO": "R"},
    MARKETING_CONSENT: {"Sales": "R", "Marketing": "RE", "Communications": "R",
                        "Privacy": "RE", "DPO": "R"},
    CONSENT: {"Sales": "R", "Marketing": "RW", "Communications": "R", "Privacy": "RW",
              "DPO": "R"},
    ACTIVITY: {"Sales": "RW", "Marketing": "R", "Receivables": "R", "Support": "RW",
               "Privacy": "R", "DPO": "R"},
    CALLBACK_REQUEST: {"Sales": "RW", "Marketing": "R", "Privacy": "R", "DPO": "R"},
    SOURCE: {"Marketing": "R", "Privacy": "R", "DPO": "R"},
    # Marketing imports lists and records their Art. 14 notices as sent (edit).
    PURCHASED_LIST_IMPORT: {"Marketing": "W", "Privacy": "R", "DPO": "R"},
    MARKETING_AUDIENCE: {"Marketing": "X", "Communications": "X"},
    DATA_SUBJECT_REQUEST: {"Privacy": "RWX", "DPO": "R"},
    RETENTION_POLICY: {"Privacy": "RW", "DPO": "R"},
    JOB_RUN: {"Privacy": "RU", "DPO": "R", "Admin": "R", "Maintainer": "R"},
    RECIPIENT: {"Privacy": "RWD", "DPO": "R"},
    # Both read the trail and download what they filtered of it (an export changes nothing).
    AUDIT_EVENT: {"Privacy": "RX", "DPO": "RX"},
    CONTACT_CHANGE: {"Privacy": "R", "DPO": "R"},
    RECORD_OF_PROCESSING: {"Privacy": "R", "DPO": "R"},
    USER_ADMIN: {"Admin": "RW", "DPO": "R"},
}

#: The resources that hold no one's personal data from the register: the job runs and
#: the user accounts. Every other resource, a future one too, counts as personal data.
WITHOUT_PERSONAL_DATA = frozenset({JOB_RUN, USER_ADMIN})


def gives_personal_data(role: str) -> bool:
    """Return whether `role` holds any action on a resource with personal data (MATRIX)."""
    return any(row.get(role) for resource, row in MATRIX.items()
               if resource not in WITHOUT_PERSONAL_DATA)


#: The roles that open personal data (contacts, requests, the audit trail...): they come
#: only from the identity provider's groups at sign-in, never by hand (DESIGN §6, §7).
PERSONAL_DATA_ROLES = frozenset(role for role in ROLES if gives_personal_data(role))


def not_grantable_by_hand(names) -> list[str]:
    """Return, sorted, the role names of `names` an administrator may not grant by hand,
    nor hold with a password: the roles opening personal data and any role not the CRM's
    (Flask-AppBuilder's internal "FabInternalNoUsers" and "Public")."""
    return sorted(name for name in names if name not in ROLES or name in PERSONAL_DATA_ROLES)


#: Flask-AppBuilder's own user screen, by the permissions it checks. (The roles page,
#: crm.security.role_views, checks `USER_ADMIN` itself.)
FAB_USER_ADMIN = {
    READ: [("can_list", "UserDBModelView"), ("can_show", "UserDBModelView")],
    ADD: [("can_add", "UserDBModelView")],
    EDIT: [("can_edit", "UserDBModelView")],
}
#: What every signed-in person may do with their own account.
SELF_SERVICE = [
    ("can_userinfo", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
]


def role_actions(role: str, resource: str) -> list[str]:
    """Return the actions `role` may take on `resource`, in `ACTION_LABELS` order."""
    letters = MATRIX.get(resource, {}).get(role, "")
    granted = {action for letter in letters for action in LETTERS[letter]}
    return [action for action in ACTION_LABELS if action in granted]


def role_permissions(role: str) -> set[tuple[str, str]]:
    """Return every (permission, resource) pair `role` holds, menus excluded."""
    granted: set[tuple[str, str]] = set(SELF_SERVICE)
    for resource, row in MATRIX.items():
        for letter in row.get(role, ""):
            for action in LETTERS[letter]:
                granted.add((action, resource))
                if resource == USER_ADMIN:
                    granted.update(FAB_USER_ADMIN.get(action, []))
    return granted


#: The menu headings of the job screens (crm.views.register_views).
PRIVACY_MENU = "Privacy"
MAINTENANCE_MENU = "Maintenance"
#: Menu headings shown only to some of the roles that may open their screens. The job
#: screens stand under Privacy for the privacy team and, the same screens, under
#: Maintenance for the administrator and the service maintainer, who read the job runs
#: only (§6 "R (runs)"): privacy is not their work.
MENU_CATEGORY_ROLES: dict[str, frozenset[str]] = {
    PRIVACY_MENU: frozenset({"Privacy", "DPO"}),
    MAINTENANCE_MENU: frozenset({"Admin", "Maintainer"}),
}


def role_menus(role: str, menu: dict[str, tuple[str, str | None]]) -> set[str]:
    """Return the menu entries `role` sees: those opening a screen it may open, under a
    heading it is given (`MENU_CATEGORY_ROLES`).

    :param menu: menu entry name -> (resource it opens, category or None).
    """
    granted = role_permissions(role)
    names: set[str] = set()
    for name, (resource, category) in menu.items():
        if role not in MENU_CATEGORY_ROLES.get(category, (role,)):
            continue
        if any(res == resource for _, res in granted):
            names.add(name)
            if category:
                names.add(category)
    return names
