"""The CRM's security manager: role permissions read once per request."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_request_context
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Permission,
    PermissionView,
    ViewMenu,
    assoc_permissionview_role,
    assoc_user_role,
)
from flask_babel import gettext
from flask_login import current_user

from crm.security.login import CrmAuthDBView, CrmSecurityApi
from crm.security.role_views import CrmRoleView
from crm.security.roles import not_grantable_by_hand, role_label
from crm.security.user_views import (
    CrmResetMyPasswordView,
    CrmResetPasswordView,
    CrmUserDBModelView,
    PasswordRoleRefused,
    password_refusal,
)
from crm.views.base import KnownActions
from crm.views.interface import CrmSQLAInterface


# FAB's own screens of groups and raw permissions, which no CRM role is granted, with
# FAB's names (their resources): an action named in a post to them is refused, not an
# error page (crm.views.base.KnownActions).
class UserGroupModelView(KnownActions, fab_views.UserGroupModelView):
    pass


class PermissionModelView(KnownActions, fab_views.PermissionModelView):
    pass


class ViewMenuModelView(KnownActions, fab_views.ViewMenuModelView):
    pass


class PermissionViewModelView(KnownActions, fab_views.PermissionViewModelView):
    pass


class CrmSecurityManager(SecurityManager):
    """FAB's manager, with every check answered from one query per request.

    Stock FAB asks the database on each `has_access` call; a list page makes a
    dozen of them. Here the signed-in user's whole permission set is loaded once
    and kept on `g` for the rest of the request.
    """

    # Sign-in through the identity provider, local login switchable (crm.security.login).
    authdbview = CrmAuthDBView
    userdbmodelview = CrmUserDBModelView
    # The CRM's roles in words, read only, at /roles/ in FAB's Security menu; FAB's
    # screen showed raw permissions and its internal roles (crm.security.role_views).
    rolemodelview = CrmRoleView
    security_api = CrmSecurityApi
    groupmodelview = UserGroupModelView
    permissionmodelview = PermissionModelView
    viewmenumodelview = ViewMenuModelView
    permissionviewmodelview = PermissionViewModelView
    # FAB's password forms, refusing accounts whose roles open personal data.
    resetpasswordview = CrmResetPasswordView
    resetmypasswordview = CrmResetMyPasswordView

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        # FAB's data interface checked unique values with its English "Already exists."
        # and logged a refused save with its values (the email); the CRM's names the
        # field and logs the constraint only (crm.views.save_refusals).
        self.userdbmodelview.datamodel = CrmSQLAInterface(self.user_model)

    # Accounts and passwords made by code -----------------------------------
    # Roles opening personal data come only from the identity provider's groups
    # (crm.security.user_views). FAB's commands (`flask fab create-user`,
    # `create-admin`, `reset-password`) come here, and are refused such roles; only
    # the CRM's own seeding (`crm demo`, the tests' demo users) says `seeded=True`.

    def add_user(self, username, first_name, last_name, email, role=None, password="",
                 hashed_password="", groups=None, commit=True, *, seeded: bool = False):
        roles = role if isinstance(role, list) else [role] if role else []
        refused = [] if seeded else not_grantable_by_hand(r.name for r in roles)
        if refused:
            raise PasswordRoleRefused(gettext(
                "No user created: %(roles)s cannot be granted by hand. Roles that give "
                "access to personal data come only from the identity provider's groups "
                "at sign-in.", roles=", ".join(role_label(name) for name in refused)))
        return super().add_user(username, first_name, last_name, email, role, password,
                                hashed_password, groups, commit)

    def reset_password(self, userid, password, *, seeded: bool = False) -> None:
        if not seeded:
            refusal = password_refusal(self.get_user_by_id(userid))
            if refusal:
                raise PasswordRoleRefused(refusal)
        super().reset_password(userid, password)

    def permissions_of(self, user_id: int) -> frozenset[tuple[str, str]]:
        """Return the (permission, resource) pairs of all roles of `user_id`."""
        rows = self.session.execute(
            sa.select(Permission.name, ViewMenu.name)
            .join(PermissionView, PermissionView.permission_id == Permission.id)
            .join(ViewMenu, PermissionView.view_menu_id == ViewMenu.id)
            .join(assoc_permissionview_role,
                  assoc_permissionview_role.c.permission_view_id == PermissionView.id)
            .join(assoc_user_role,
                  assoc_user_role.c.role_id == assoc_permissionview_role.c.role_id)
            .where(assoc_user_role.c.user_id == user_id)
        )
        return frozenset((perm, view) for perm, view in rows)

    def current_permissions(self) -> frozenset[tuple[str, str]]:
        """Return the signed-in user's permissions, empty for anyone else."""
        if not has_request_context() or not current_user.is_authenticated:
            return frozenset()
        if not current_user.is_active:
            return frozenset()
        cached = g.get("_crm_permissions")
        if cached is None:
            cached = g._crm_permissions = self.permissions_of(current_user.id)
        return cached

    def can(self, permission_name: str, resource: str) -> bool:
        return (permission_name, resource) in self.current_permissions()

    # FAB's entry points -------------------------------------------------

    def has_access(self, permission_name: str, view_name: str) -> bool:
        return self.can(permission_name, view_name)

    def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
        if has_request_context() and current_user.is_authenticated and user.id == current_user.id:
            return self.can(permission_name, view_name)
        return (permission_name, view_name) in self.permissions_of(user.id)

    def get_user_menu_access(self, menu_names: list[str] | None = None) -> set[str]:
        return {view for perm, view in self.current_permissions() if perm == "menu_access"}

    def is_item_public(self, permission_name: str, view_name: str) -> bool:
        # Nothing in the CRM's admin UI is public; the public pages are plain routes.
        return False
