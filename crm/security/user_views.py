"""The user-administration screen: Admin manages accounts, never its own roles.

Roles that open personal data (`roles.PERSONAL_DATA_ROLES`) come only from the identity
provider's groups at sign-in: no one grants them by hand, and no account holding one
gets a password (DESIGN §6, §7). By hand an administrator may still grant Admin and
Maintainer (e.g. to a break-glass password account), take any role away, and
deactivate accounts; every change of roles is audited as `role_change`.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g, request
from flask_appbuilder import expose, has_access
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.security.forms import ResetPasswordForm
from flask_appbuilder.security.views import (
    ResetMyPasswordView,
    ResetPasswordView,
    UserDBModelView,
)
from flask_appbuilder.widgets import FormWidget
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from wtforms.validators import InputRequired, ValidationError

from crm.forms import with_crm_messages
from crm.security.oidc import sso
from crm.security.roles import (
    MATRIX,
    ROLES,
    WITHOUT_PERSONAL_DATA,
    not_grantable_by_hand,
    role_label,
)
from crm.services.audit import record_event
from crm.views.base import KnownActions
from crm.views.list_audit import ROW, AuditedLists
from crm.views.save_refusals import RefusedSaves


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


class PasswordRoleRefused(ValueError):
    """A password for an account with a role that opens personal data, refused."""


def _labels(names) -> str:
    return ", ".join(role_label(name) for name in names)


def password_refusal(user) -> str | None:
    """Return why `user` may not be given a password (None: it may).

    An account holding a role that opens personal data signs in only through the
    identity provider, whose groups give it that role.
    """
    refused = not_grantable_by_hand(role.name for role in user.roles) if user else []
    if not refused:
        return None
    return gettext("Password not set: the account has roles that give access to personal "
                   "data (%(roles)s). Such an account signs in only through the identity "
                   "provider.", roles=_labels(refused))


def only_grantable_roles(form, field) -> None:
    """Refuse, by the roles field, a role granted by hand that opens personal data (or
    is not the CRM's): such roles come only from the identity provider's groups.

    Roles the account already holds may stay (saving an account signing in through the
    provider keeps the roles its groups gave it); taking a role away is always allowed.
    """
    user_id = getattr(form, "_id", None)
    if user_id is not None and user_id == g.user.id:
        return  # one's own roles: not_own_roles says so
    sm = current_app.appbuilder.sm
    user = sm.get_user_by_id(user_id) if user_id is not None else None
    held = {role.id for role in user.roles} if user else set()
    added = [role.name for role in field.data or [] if role.id not in held]
    # FAB's field drops a posted role outside the choices without a word (a forged post
    # naming "FabInternalNoUsers" or "Public"): it is refused here, by its name.
    unoffered = set(field.raw_data or ()) - {str(role.id) for role in field.data or []}
    if unoffered:
        ids = [int(pk) for pk in unoffered if pk.isdigit()]
        names = dict(sm.session.execute(sa.select(sm.role_model.id, sm.role_model.name)
                                        .where(sm.role_model.id.in_(ids))).all())
        added += [names.get(int(pk), pk) if pk.isdigit() else pk for pk in unoffered]
    foreign = sorted(name for name in added if name not in ROLES)
    if foreign:
        raise ValidationError(ngettext(
            "Roles: %(roles)s is not a role of the CRM.",
            "Roles: %(roles)s are not roles of the CRM.", len(foreign),
            roles=", ".join(foreign)))
    refused = not_grantable_by_hand(added)
    if refused:
        raise ValidationError(ngettext(
            "Roles: %(roles)s cannot be granted by hand. Roles that give access to "
            "personal data come only from the person's groups at the identity provider, "
            "at sign-in.",
            "Roles: %(roles)s cannot be granted by hand. Roles that give access to "
            "personal data come only from the person's groups at the identity provider, "
            "at sign-in.", len(refused), roles=_labels(refused)))


def _crm_role_names() -> list[str]:
    return list(ROLES)


#: The role picker lists the CRM's roles only, never FAB's "FabInternalNoUsers" and
#: "Public"; a forged post naming one is refused by `only_grantable_roles`.
ONLY_CRM_ROLES = {"roles": [["name", FilterInFunction, _crm_role_names]]}


def role_change_detail(added, removed) -> str:
    """Return a change of roles as the audit trail stores it: "+Admin -Support"."""
    return " ".join([f"+{name}" for name in sorted(added)]
                    + [f"-{name}" for name in sorted(removed)])[:200]


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


class CrmUserDBModelView(KnownActions, AuditedLists, RefusedSaves, UserDBModelView):
    """FAB's user screen with two rules: no one grants themselves roles, and every
    role change is in the audit trail (role names only).

    Saves go through the CRM's data interface (set by the security manager) and
    `RefusedSaves`, as on the CRM's own screens: a username or email another account
    has is named beside its field in the reader's language, and a save the database
    still refuses is rolled back, logged without the value and told in plain words.
    """

    # Keep FAB's resource name, which the role definitions grant.
    class_permission_name = "UserDBModelView"
    # The list shows people's names, usernames and emails: each page of it is in the
    # audit trail (crm.views.list_audit).
    list_people = ROW
    # What a save saved, as the CRM's own screens say it (CrmModelView.saved_message).
    add_row_message = _l("User account added")
    edit_row_message = _l("User account saved")
    delete_row_message = _l("User account deleted")
    validators_columns = {
        **UserDBModelView.validators_columns,
        # FAB's own check asks for roles "or groups", a field left out here (it failed
        # with an error page when no role was chosen).
        "roles": [InputRequired(), not_own_roles, only_grantable_roles],
    }
    add_form_query_rel_fields = ONLY_CRM_ROLES
    edit_form_query_rel_fields = ONLY_CRM_ROLES

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
                    "groups at the identity provider. Roles that give access to personal "
                    "data come only from there; by hand you may grant Admin and "
                    "Maintainer, or take roles away."),
    }

    def _init_forms(self) -> None:
        super()._init_forms()
        # The role choices by their names in the reader's language, as on the list.
        for form in (self.add_form, self.edit_form):
            form.roles.kwargs["get_label"] = lambda role: role_label(role.name)

    def pre_update(self, item):
        super().pre_update(item)
        # The roles before the form's, kept for post_update (the view serves every request).
        history = sa.inspect(item).attrs.roles.history
        g._crm_role_change = ([r.name for r in history.added or ()],
                              [r.name for r in history.deleted or ()])

    def post_update(self, item):
        super().post_update(item)
        record_event("update", item, object_type="User", fields=["roles", "active"],
                     detail=",".join(sorted(r.name for r in item.roles))[:200])
        added, removed = g.pop("_crm_role_change", ((), ()))
        if added or removed:
            record_event("role_change", item, object_type="User", fields=["roles"],
                         detail=role_change_detail(added, removed))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        response = super().show(pk)  # FAB's page, or "not found"
        # A person's account (name, email, sign-ins): who opened it is in the audit
        # trail, as with the register's pages about a person (CrmModelView.audit_views).
        # One's own profile page (`userinfo`) is not such a view.
        record_event("view", self.datamodel.get(pk), object_type="User", commit=True)
        return response

    def post_add(self, item):
        super().post_add(item)
        record_event("create", item, object_type="User",
                     detail=",".join(sorted(r.name for r in item.roles))[:200])
        if item.roles:
            record_event("role_change", item, object_type="User", fields=["roles"],
                         detail=role_change_detail([r.name for r in item.roles], ()))


class _NoPasswordForPersonalDataRoles(with_crm_messages(ResetPasswordForm)):
    """FAB's password form, refusing (by the password field) an account whose roles
    open personal data."""

    def validate_password(self, field) -> None:
        refusal = password_refusal(self.target_user())
        if refusal:
            raise ValidationError(refusal)

    def target_user(self):
        return g.user


class _OtherUsersPasswordForm(_NoPasswordForPersonalDataRoles):
    def target_user(self):
        pk = request.args.get("pk")
        return current_app.appbuilder.sm.get_user_by_id(pk) if pk else None


def may_set_password(user) -> bool:
    """Return whether `user` may hold a password (break-glass accounts)."""
    return user is not None and password_refusal(user) is None


#: The resources with personal data: a role with any permission on one of them is in
#: `PERSONAL_DATA_ROLES`.
_PERSONAL_DATA_RESOURCES = frozenset(MATRIX) - WITHOUT_PERSONAL_DATA


def password_offered() -> bool:
    """Return whether the user menu offers the signed-in user their password page: they
    hold no permission on personal data. Read from the permissions the request loaded
    already, so the menu costs no query; the page itself checks the roles
    (`may_set_password`)."""
    held = current_app.appbuilder.sm.current_permissions()
    return bool(held) and not any(resource in _PERSONAL_DATA_RESOURCES
                                  for _permission, resource in held)


class PasswordFormWidget(FormWidget):
    """FAB's form, each field's help text and error tied to its input for screen readers."""

    template = "crm/widgets/password_form.html"


class CrmResetMyPasswordView(ResetMyPasswordView):
    """Setting one's own password: not for an account with personal-data roles.

    Such an account is told so when it opens the page, with no form to fill in: it
    signs in through the company's sign-in service and never has a password here.
    """

    # Keep FAB's resource name, which every role is granted (roles.SELF_SERVICE).
    class_permission_name = "ResetMyPasswordView"
    form = _NoPasswordForPersonalDataRoles
    edit_widget = PasswordFormWidget
    no_password_template = "security/no_password.html"
    #: Whether the user menu offers the page (appbuilder/navbar_right.html).
    offered = staticmethod(password_offered)

    @expose("/form", methods=["GET"])
    @has_access
    def this_form_get(self):
        if not may_set_password(g.user):
            return self._no_password()
        return super().this_form_get()

    @expose("/form", methods=["POST"])
    @has_access
    def this_form_post(self):
        # A post (a stale tab, a forged request) sets nothing: the same page says why.
        if not may_set_password(g.user):
            return self._no_password()
        return super().this_form_post()

    def _no_password(self):
        return self.render_template(
            self.no_password_template, title=self.form_title,
            roles=_labels(not_grantable_by_hand(role.name for role in g.user.roles)),
            provider=_sign_in_service())


def _sign_in_service() -> str:
    """Return the company's sign-in service by the name its button has, "" if none."""
    sso_ = sso()
    return sso_.display_name if sso_ else ""


class CrmResetPasswordView(ResetPasswordView):
    """FAB's "Reset password" of another account (no role is granted it), refused for an
    account with personal-data roles as well."""

    class_permission_name = "ResetPasswordView"
    form = _OtherUsersPasswordForm

