"""Sync the role definitions of `crm.security.roles` into the database, idempotently."""

from __future__ import annotations

import logging

from flask_appbuilder import AppBuilder

from crm.security import roles

log = logging.getLogger(__name__)


def menu_resources(appbuilder: AppBuilder) -> dict[str, tuple[str, str | None]]:
    """Return menu entry name -> (resource its view checks, category name)."""
    by_endpoint = {}
    for view in appbuilder.baseviews:
        resource = getattr(view, "class_permission_name", None) or view.__class__.__name__
        by_endpoint[view.__class__.__name__] = resource
    result: dict[str, tuple[str, str | None]] = {}
    for category in appbuilder.menu.get_list():
        children = category.childs or [category]
        for item in children:
            if not item.name or item.name == "-":
                continue
            view_name = (item.baseview.__class__.__name__ if item.baseview is not None
                         else None)
            resource = by_endpoint.get(view_name, item.name)
            # FAB's user screen checks FAB's own resource; the CRM grants it with
            # USER_ADMIN (roles.FAB_USER_ADMIN).
            if view_name in ("UserDBModelView", "CrmUserDBModelView"):
                resource = roles.USER_ADMIN
            result[item.name] = (resource, category.name if category.childs else None)
    return result


def sync_roles(appbuilder: AppBuilder) -> dict[str, int]:
    """Make every CRM role hold exactly the permissions defined in code.

    :return: role name -> number of permissions it now holds.
    """
    sm = appbuilder.sm
    for name in (sm.auth_role_admin, sm.auth_role_public):
        sm.add_role(name)
    appbuilder.add_permissions(update_perms=True)
    menus = menu_resources(appbuilder)
    counts = {}
    for role_name in roles.ROLES:
        role = sm.find_role(role_name) or sm.add_role(role_name)
        wanted = roles.role_permissions(role_name)
        wanted |= {("menu_access", name) for name in roles.role_menus(role_name, menus)}
        role.permissions = [sm.add_permission_view_menu(p, v) for p, v in sorted(wanted)]
        counts[role_name] = len(role.permissions)
    # FAB grants every new permission to its admin role; no CRM user holds that role,
    # and keeping it empty means nobody could by accident.
    for name in (sm.auth_role_admin, sm.auth_role_public):
        sm.find_role(name).permissions = []
    sm.session.commit()
    log.info("roles synced: %s", counts)
    return counts
