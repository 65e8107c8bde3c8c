"""The user-administration screen: Admin manages accounts, never its own roles."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext as _l

from crm.services.audit import record_event


class OwnRolesChange(Exception):
    """An administrator tried to change their own roles."""


class CrmUserDBModelView(UserDBModelView):
    """FAB's user screen with two rules: no one grants themselves roles, and every
    role change is in the audit trail (role names only)."""

    # Keep FAB's resource name, which the role definitions grant.
    class_permission_name = "UserDBModelView"

    def pre_update(self, item):
        super().pre_update(item)
        if item.id == g.user.id and sa.inspect(item).attrs.roles.history.has_changes():
            raise OwnRolesChange(str(_l(
                "You cannot change your own roles: ask another administrator.")))

    def post_update(self, item):
        super().post_update(item)
        record_event("update", item, object_type="User", fields=["roles", "active"],
                     detail=",".join(sorted(r.name for r in item.roles))[:200])

    def post_add(self, item):
        super().post_add(item)
        record_event("create", item, object_type="User",
                     detail=",".join(sorted(r.name for r in item.roles))[:200])

    def _edit(self, pk):
        # No autoflush while the form is applied, so pre_update sees the role change.
        with self.datamodel.session.no_autoflush:
            result = super()._edit(pk)
        if self.datamodel.session.dirty:
            # A refused save leaves the form's values on the user: never commit them.
            self.datamodel.session.rollback()
        return result
