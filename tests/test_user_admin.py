"""The user screen: Admin manages other accounts' roles, never its own; all audited."""

from __future__ import annotations

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.models import AuditEvent
from tests.conftest import csrf_token, field_errors


def _user(session, username) -> User:
    session.expire_all()
    return session.scalar(sa.select(User).where(User.username == username))


def _post_roles(client, user: User, role_ids: list[int]):
    path = f"/users/edit/{user.id}"
    data = {"csrf_token": csrf_token(client, path), "first_name": user.first_name,
            "last_name": user.last_name, "username": user.username, "email": user.email,
            "active": "y", "roles": [str(r) for r in role_ids]}
    return client.post(path, data=data)


def test_admin_cannot_grant_itself_a_role(login_as, session, app):
    admin = _user(session, "admin")
    privacy = app.appbuilder.sm.find_role("Privacy")
    client = login_as("admin")
    client.get("/lang/en")
    response = _post_roles(client, admin, [r.id for r in admin.roles] + [privacy.id])
    # Refused beside the roles, the form shown again.
    assert response.status_code == 200
    assert field_errors(response.get_data(as_text=True), "roles") == [
        "You cannot change your own roles: ask another administrator."]
    assert [r.name for r in _user(session, "admin").roles] == ["Admin"]
    # The rest of its own account it may change, its roles as they are.
    assert _post_roles(client, admin, [r.id for r in admin.roles]).status_code == 302
    # Still without contact data.
    assert client.get("/contactview/list/").status_code == 403


def test_admin_changes_another_users_roles_audited_and_their_sessions_end(
        login_as, session, app):
    support_client = login_as("support")
    support = _user(session, "support")
    # A role without personal data may be granted by hand (crm.security.user_views).
    maintainer_role = app.appbuilder.sm.find_role("Maintainer")
    response = _post_roles(login_as("admin"), support, [maintainer_role.id])
    assert response.status_code == 302
    assert [r.name for r in _user(session, "support").roles] == ["Maintainer"]
    events = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "User", AuditEvent.action.in_(["update", "role_change"]))
        .order_by(AuditEvent.id)).all()
    assert [(e.action, e.object_id, e.actor, e.detail) for e in events] == [
        ("update", str(support.id), "admin", "Maintainer"),
        ("role_change", str(support.id), "admin", "+Maintainer -Support")]
    # The old session, made under the old role, is gone.
    assert support_client.get("/contactview/list/").status_code != 200


def test_sales_cannot_open_the_user_screen(login_as, session):
    sales = _user(session, "sales")
    client = login_as("sales")
    assert client.get(f"/users/edit/{sales.id}").status_code == 403
    assert client.get("/users/list/").status_code == 403
