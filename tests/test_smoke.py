"""The app starts, serves its liveness route, and a demo user can sign in."""

from __future__ import annotations

from tests.factories import make_contact


def test_health_answers_without_data(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_sales_sees_contact_in_list(session, login_as):
    make_contact(session, first_name="Ilona", last_name="Esimerkki")
    session.commit()
    page = login_as("sales").get("/contactview/list/").get_data(as_text=True)
    assert "Esimerkki" in page
