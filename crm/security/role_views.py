"""The roles page: what each CRM role may do and who gets it, in the reader's words.

FAB's own roles screen lists raw permission strings ("can_list on ContactView") and its
internal roles, and offers to edit what `crm init` overwrites. This page replaces it at
/roles/ (`CrmSecurityManager.rolemodelview`): read only, the CRM's roles of DESIGN §6
and nothing else, each with the identity-provider groups that give it
(`CRM_ROLE_MAPPING`), how many active users hold it now, and what it may do on each
screen and field group, as an administrator or an auditor reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.sqla.models import Role, User, assoc_user_role
from sqlalchemy.orm import Session

from crm.extensions import db
from crm.security import roles


@dataclass(frozen=True)
class Grant:
    """What a role may do on one resource: its name and the actions, in the reader's words."""

    resource: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.resource}: {', '.join(self.actions)}"


@dataclass(frozen=True)
class RoleSummary:
    """One CRM role as the page shows it."""

    name: str
    label: str
    groups: tuple[str, ...]
    active_users: int
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class MatrixRow:
    """One resource across the roles: per role (in `roles.ROLES` order) its actions."""

    resource: str
    field_group: bool
    cells: tuple[tuple[str, ...], ...]


def resources_in_order() -> list[str]:
    """Return every resource: the screens in `MATRIX` order, then the field groups."""
    screens = [r for r in roles.MATRIX if r not in roles.FIELD_GROUPS]
    return screens + [r for r in roles.MATRIX if r in roles.FIELD_GROUPS]


def _action_labels(role: str, resource: str) -> tuple[str, ...]:
    return tuple(str(roles.ACTION_LABELS[a]) for a in roles.role_actions(role, resource))


def groups_by_role(mapping: Mapping[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """Return CRM role -> the groups that give it, from a `CRM_ROLE_MAPPING`."""
    result: dict[str, set[str]] = {role: set() for role in roles.ROLES}
    for group, role_names in mapping.items():
        for role in role_names:
            if role in result:
                result[role].add(group)
    return {role: tuple(sorted(groups)) for role, groups in result.items()}


def unknown_roles(mapping: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """Return (group, role) of the mapping's roles the CRM does not have.

    Sign-in ignores them (crm.services.identities); shown, so a typo is seen.
    """
    return sorted((group, role) for group, names in mapping.items() for role in names
                  if role not in roles.ROLES)


def active_users_by_role(session: Session) -> dict[str, int]:
    """Return CRM role -> how many active users hold it now."""
    rows = session.execute(
        sa.select(Role.name, sa.func.count(sa.distinct(User.id)))
        .join(assoc_user_role, assoc_user_role.c.role_id == Role.id)
        .join(User, User.id == assoc_user_role.c.user_id)
        .where(User.active.is_(True), Role.name.in_(roles.ROLES))
        .group_by(Role.name))
    counts = dict(rows.all())
    return {role: counts.get(role, 0) for role in roles.ROLES}


def role_summaries(session: Session, mapping: Mapping[str, list[str]]) -> list[RoleSummary]:
    """Return every CRM role, in `roles.ROLES` order, with its groups, users and grants."""
    groups = groups_by_role(mapping)
    users = active_users_by_role(session)
    summaries = []
    for role in roles.ROLES:
        grants = tuple(Grant(roles.resource_label(resource), actions)
                       for resource in resources_in_order()
                       if (actions := _action_labels(role, resource)))
        summaries.append(RoleSummary(role, roles.role_label(role), groups[role],
                                     users[role], grants))
    return summaries


def matrix_rows() -> list[MatrixRow]:
    """Return the resources × roles table of DESIGN §6, in the reader's words."""
    return [MatrixRow(roles.resource_label(resource), resource in roles.FIELD_GROUPS,
                      tuple(_action_labels(role, resource) for role in roles.ROLES))
            for resource in resources_in_order()]


class CrmRoleView(BaseView):
    """The roles page, in FAB's Security menu where its roles screen was ("List Roles").

    Readable by whoever may read user accounts (`USER_ADMIN`: Admin and the DPO). FAB
    sets a `datamodel` on whatever class `rolemodelview` names; this view uses none.
    """

    route_base = "/roles"
    default_view = "index"
    class_permission_name = roles.USER_ADMIN
    base_permissions = [roles.READ]
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        mapping = current_app.config["CRM_ROLE_MAPPING"]
        return self.render_template(
            "security/roles.html", summaries=role_summaries(db.session, mapping),
            matrix=matrix_rows(), role_labels=[roles.role_label(r) for r in roles.ROLES],
            unknown=unknown_roles(mapping))
