"""A correction on a request's page gives no contact another person's email address.

An address is one person's: the access export and the erasure of a request take
every contact having one of the person's addresses (crm.services.subjects.same_person),
so a contact corrected to another's address would take that other person's data into
the export, and that person into the erasure. The contact form refuses such an
address (crm.views.checks.email_of_no_other_contact); so does a correction.
"""

from __future__ import annotations

import pytest

from crm.models import Contact
from crm.services.subjects import same_person
from tests.factories import make_contact
from tests.test_rectification import _changes, _rectification, _rectify


@pytest.mark.parametrize("field", ["email", "alt_email"])
def test_a_correction_to_another_contacts_address_is_refused(session, login_as, field):
    other = make_contact(session, email="riikka.aaltonen@tahti.example")
    contact = make_contact(session, email="ilkka.aaltonen@tuuli.example")
    request = _rectification(session, contact)
    client = login_as("privacy")
    client.get("/lang/en")
    response = _rectify(client, request.id, field=field, value="Riikka.Aaltonen@tahti.example",
                        reason="Henkilön pyynnöstä", version=str(contact.version))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Another contact already has this email address." in page
    session.expire_all()
    kept = session.get(Contact, contact.id)
    assert (kept.email, kept.alt_email) == ("ilkka.aaltonen@tuuli.example", None)
    assert _changes(session, contact.id) == []
    # The erasure of either would not take the other.
    assert [c.id for c in same_person(session, kept)] == [contact.id]
    assert [c.id for c in same_person(session, session.get(Contact, other.id))] == [other.id]


def test_a_correction_to_a_new_address_or_the_own_one_is_made(session, login_as):
    make_contact(session, email="riikka.aaltonen@tahti.example")
    contact = make_contact(session, email="ilkka.aaltonen@tuuli.example",
                           alt_email="ilkka@koti.example")
    request = _rectification(session, contact)
    client = login_as("privacy")
    _rectify(client, request.id, field="email", value="ilkka.uusi@tuuli.example",
             reason="Osoite vaihtunut", version=str(contact.version))
    session.expire_all()
    contact = session.get(Contact, contact.id)
    assert contact.email == "ilkka.uusi@tuuli.example"
    # The contact's own other address, made its main one: nobody else's.
    _rectify(client, request.id, field="email", value="ilkka@koti.example",
             reason="Henkilön pyynnöstä", version=str(contact.version))
    session.expire_all()
    assert session.get(Contact, contact.id).email == "ilkka@koti.example"


def test_the_service_refuses_it_whoever_calls_it(session):
    """The check is the correction's own (crm.services.rectification), not only its page's."""
    from crm.services.rectification import RectificationError, rectify

    make_contact(session, email="riikka.aaltonen@tahti.example")
    contact = make_contact(session, email="ilkka.aaltonen@tuuli.example")
    request = _rectification(session, contact)
    with pytest.raises(RectificationError, match="Toisella yhteyshenkilöllä on jo tämä"):
        rectify(session, request, field="alt_email", value="RIIKKA.aaltonen@tahti.example",
                reason="Korjaus", actor=(None, "test"))
    session.rollback()
    assert session.get(Contact, contact.id).alt_email is None
