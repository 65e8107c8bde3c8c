"""The user-administration screen: Admin manages accounts, never its own roles."""

from __future__ import annotations

from flask import g
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from crm.security.roles import role_label
from crm.services.audit import record_event


def yes_no(value) -> str:
    """Return a flag as the reader says it (Kyllä/Ei), not Python's True/False."""
    return gettext("Yes") if value else gettext("No")


def role_names(roles) -> str:
    """Return a user's roles by their names in the reader's language, not a list's repr."""
    return ", ".join(sorted(role_label(role.name) for role in roles or []))


#: FAB's user screens show its own "groups", which the CRM does not use: a person's
#: groups are at the identity provider. Left out, so no one mistakes the two.
NO_FAB_GROUPS = "groups"


def _without_groups(columns: list[str]) -> list[str]:
    return [c for c in columns if c != NO_FAB_GROUPS]


def not_own_roles(form, field) -> None:
    """Refuse an administrator's change of their own roles (this field), by the field.

    A validator rather than a refusal in `pre_update`, so the form keeps its input.
    FAB sets `form._id` to the key of the user being edited.
    """
    if getattr(form, "_id", None) != g.user.id:
        return
    if {role.id for role in field.data or []} != {role.id for role in g.user.roles}:
        raise ValidationError(gettext(
            "You cannot change your own roles: ask another administrator."))


class CrmUserDBModelView(UserDBModelView):
    """FAB's user screen with two rules: no one grants themselves roles, and every
    role change is in the audit trail (role names only)."""

    # Keep FAB's resource name, which the role definitions grant.
    class_permission_name = "UserDBModelView"
    # What a save saved, as the CRM's own screens say it (CrmModelView.saved_message).
    add_row_message = _l("User account added")
    edit_row_message = _l("User account saved")
    delete_row_message = _l("User account deleted")
    validators_columns = {
        **UserDBModelView.validators_columns,
        "roles": [*UserDBModelView.validators_columns["roles"], not_own_roles],
    }

    # The profile page ("Profiili") and the user screens show these two as the reader
    # reads them; FAB shows True and [Sales].
    formatters_columns = {"active": yes_no, "roles": role_names}
    list_columns = _without_groups(UserDBModelView.list_columns)
    edit_columns = _without_groups(UserDBModelView.edit_columns)
    add_columns = _without_groups(UserDBModelView.add_columns)
    search_columns = _without_groups(UserDBModelView.search_columns)
    # FAB's words speak of LDAP, OpenID 2 and its own groups; these say how the CRM works.
    description_columns = {
        **UserDBModelView.description_columns,
        "username": _l("For signing in with a password (break-glass accounts only). "
                       "For people who sign in through the identity provider it is made "
                       "from their login there."),
        "email": _l("The user's email address, for notifications. It never links two "
                    "accounts."),
        "roles": _l("What the user may do in the CRM. For people who sign in through the "
                    "identity provider, the roles come from their groups there and are "
                    "replaced at every sign-in: to change them for good, change the "
                    "groups at the identity provider."),
    }

    def _init_forms(self) -> None:
        super()._init_forms()
        # The role choices by their names in the reader's language, as on the list.
        for form in (self.add_form, self.edit_form):
            form.roles.kwargs["get_label"] = lambda role: role_label(role.name)

    def post_update(self, item):
        super().post_update(item)
        record_event("update", item, object_type="User", fields=["roles", "active"],
                     detail=",".join(sorted(r.name for r in item.roles))[:200])

    def post_add(self, item):
        super().post_add(item)
        record_event("create", item, object_type="User",
                     detail=",".join(sorted(r.name for r in item.roles))[:200])

