"""An anonymised person's records are read-only for every role (DESIGN §8).

Anonymisation is irreversible and complete: no screen writes a name, an address or a
number back into what is left of the person (crm.services.anonymised). Every role that
may edit or add records of a kind is tried, as tests/test_permissions.py's matrix says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crm.models import (
    Activity,
    AuditEvent,
    CallbackRequest,
    Consent,
    Contact,
    DataSubjectRequest,
    Identifier,
    RequestType,
)
from crm.privacy.anonymise import anonymise_contact
from crm.services.anonymised import about_anonymised, anonymised_ids, contact_links
from crm.views.save_refusals import SaveRefused
from tests.conftest import session_csrf_token
from tests.factories import (
    make_activity,
    make_callback_request,
    make_consent,
    make_contact,
    make_identifier,
    make_request,
)
from tests.test_permissions import USERS, allowed, filled, form_fields

REFUSED = "The person has been anonymised: their data cannot be changed."
#: What a user types back in: the erased person's name, number and address.
PERSONAL = "Kirsi Niemi 040 123 4567 kirsi.niemi@koti.example"


@dataclass(frozen=True)
class Kind:
    """A kind of record about a person: its screen, and what an edit types into it."""

    view: str  # the permission matrix's name of the screen
    model: type
    typed: dict  # field -> value typed over the form's own
    column: str  # the column the typed text would land in


KINDS = {
    "activity": Kind("activity", Activity, {"subject": "Kirsi Niemi soitti",
                                            "body": PERSONAL}, "subject"),
    "callbackrequest": Kind("callbackrequest", CallbackRequest, {"message": PERSONAL},
                            "message"),
    "identifier": Kind("identifier", Identifier, {"identifier": "kirsi.niemi"}, "identifier"),
    "consent": Kind("consent", Consent, {"withdrawn_at": "1.2.2026 12.00"}, "withdrawn_at"),
    "datasubjectrequest": Kind("datasubjectrequest", DataSubjectRequest,
                               {"requester_name": "Kirsi Niemi",
                                "requester_email": "kirsi.niemi@koti.example"},
                               "requester_name"),
}

EDITS = [(kind, user) for kind in KINDS for user in USERS if allowed(user, kind, "edit")]
ADDS = [(kind, user) for kind in ("activity", "callbackrequest", "identifier", "consent")
        for user in USERS if allowed(user, kind, "add")]


def _records(session, contact) -> dict[str, object]:
    """One record of each kind about `contact`."""
    return {
        "activity": make_activity(session, contact, occurred_at=datetime(2026, 1, 5, tzinfo=UTC)),
        "callbackrequest": make_callback_request(session, contact=contact),
        "identifier": make_identifier(session, contact),
        "consent": make_consent(session, contact,
                                given_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC)),
        "datasubjectrequest": make_request(session, contact=contact, type=RequestType.erasure),
    }


@pytest.fixture
def erased(session):
    """An anonymised person's records, and a live person's of the same kinds (whose
    forms give the fields a browser would send)."""
    person, other = make_contact(session), make_contact(session)
    records = _records(session, person)
    live = _records(session, other)
    session.commit()
    anonymise_contact(session, person.id, "erasure")
    session.commit()
    # Identifiers and consents go with the person; ones linked since are read-only too.
    records["identifier"] = make_identifier(session, person)
    records["consent"] = make_consent(session, person,
                                      given_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    session.commit()
    return person.id, {k: r.id for k, r in records.items()}, {k: r.id for k, r in live.items()}


def _value(session, model, pk, column):
    session.expire_all()
    return session.scalar(sa.select(getattr(model, column)).where(model.id == pk))


def _updates(session) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "update"))


def _flashes(html: str) -> str:
    return " ".join(" ".join(m.split()) for m in re.findall(
        r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


@pytest.mark.parametrize("kind, user", EDITS)
def test_an_anonymised_persons_record_is_not_edited(session, signed_in, erased, kind, user):
    person, records, live = erased
    spec, pk = KINDS[kind], records[kind]
    client = signed_in(user)
    prefix = f"/{kind}view"
    # The form a browser would send: the live record's, over the anonymised one's links.
    fields = form_fields(client.get(f"{prefix}/edit/{live[kind]}").get_data(as_text=True))
    typed = dict(spec.typed)
    if "contact" in dict(fields):
        typed["contact"] = str(person)
    if "version" in dict(fields):
        typed["version"] = str(_value(session, spec.model, pk, "version"))
    before, updates = _value(session, spec.model, pk, spec.column), _updates(session)

    # Its page offers no edit link.
    page = client.get(f"{prefix}/show/{pk}").get_data(as_text=True)
    assert f"{prefix}/edit/{pk}" not in page
    # The form does not open: back on the record's page, saying why.
    opened = client.get(f"{prefix}/edit/{pk}", follow_redirects=True)
    assert opened.request.path == f"{prefix}/show/{pk}"
    assert REFUSED in _flashes(opened.get_data(as_text=True))
    # A post saves nothing and says why.
    posted = client.post(f"{prefix}/edit/{pk}", data=filled(fields, typed),
                         follow_redirects=True)
    assert REFUSED in _flashes(posted.get_data(as_text=True))
    assert _value(session, spec.model, pk, spec.column) == before
    assert _updates(session) == updates, "no change recorded in the audit trail"


@pytest.mark.parametrize("user", [u for u in USERS if allowed(u, "contact", "edit")])
def test_an_anonymised_contact_is_not_edited(session, signed_in, erased, user):
    person, _records_, _live = erased
    client = signed_in(user)
    version = _value(session, Contact, person, "version")
    for response in (client.get(f"/contactview/edit/{person}"),
                     client.post(f"/contactview/edit/{person}", data={
                         "first_name": "Kirsi", "last_name": "Niemi", "phone": "040 123 4567",
                         "version": str(version), "csrf_token": session_csrf_token(client)})):
        assert response.status_code == 404  # the contact has no page (AnonymisedContact)
    assert _value(session, Contact, person, "last_name") == "Anonymised"
    assert _value(session, Contact, person, "version") == version


@pytest.mark.parametrize("kind, user", ADDS)
def test_nothing_new_is_added_to_an_anonymised_person(session, signed_in, erased, kind, user):
    person, _records_, _live = erased
    spec = KINDS[kind]
    client = signed_in(user)
    add = f"/{kind}view/add"
    fields = form_fields(client.get(add).get_data(as_text=True))
    typed = {**spec.typed, "contact": str(person)}
    if kind == "callbackrequest":
        typed.update(name="Kirsi Niemi", phone="040 123 4567")
    if kind == "identifier":
        typed["system"] = "Asiakasportaali"
    if kind == "consent":
        typed.update(given_how="email", text_version="Sähköposti 2026",
                     evidence="Sähköposti 2.1.2026, arkistossa", given_at="2.1.2026 12.00")
    count = session.scalar(sa.select(sa.func.count()).select_from(spec.model).where(
        spec.model.contact_id == person))
    response = client.post(add, data=filled(fields, typed), follow_redirects=True)
    assert response.status_code == 200
    assert "anonymised" in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(spec.model).where(
        spec.model.contact_id == person)) == count


@pytest.mark.parametrize("user", [u for u in USERS if allowed(u, "activity", "edit")])
def test_a_list_offers_no_edit_link_on_an_anonymised_persons_rows(session, signed_in,
                                                                 erased, user):
    _person, records, live = erased
    page = signed_in(user).get("/activityview/list/").get_data(as_text=True)
    assert f"/activityview/show/{records['activity']}" in page
    assert f"/activityview/edit/{records['activity']}" not in page
    assert f"/activityview/edit/{live['activity']}" in page


def test_a_callback_request_emptied_by_anonymisation_is_read_only(session, signed_in):
    """One left with the person's address but not linked to them is emptied too."""
    person = make_contact(session, email="kirsi.niemi@koti.example")
    callback = make_callback_request(session, email="kirsi.niemi@koti.example")
    session.commit()
    anonymise_contact(session, person.id, "erasure")
    session.commit()
    client = signed_in("sales")
    page = client.get(f"/callbackrequestview/show/{callback.id}").get_data(as_text=True)
    assert f"/callbackrequestview/edit/{callback.id}" not in page
    opened = client.get(f"/callbackrequestview/edit/{callback.id}", follow_redirects=True)
    assert REFUSED in _flashes(opened.get_data(as_text=True))


def test_the_data_interface_refuses_whatever_form_sent_it(app, session, erased):
    """The last line: a save the forms let through is refused by the CRM's data interface."""
    person, records, _live = erased
    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "ActivityView")
    activity = session.get(Activity, records["activity"])
    activity.subject = "Kirsi Niemi"
    with app.test_request_context(), pytest.raises(SaveRefused, match="anonymi[sz]"):
        view.datamodel.edit(activity)
    with app.test_request_context(), pytest.raises(SaveRefused, match="anonymi[sz]"):
        view.datamodel.add(Activity(contact_id=person, contact=session.get(Contact, person),
                                    kind="note", subject="Kirsi Niemi"))
    assert _value(session, Activity, records["activity"], "subject") == ""


def test_every_kind_of_record_linked_to_a_person_is_covered(session, erased):
    """Each model with a link to a contact: its records about the anonymised person are
    told apart from the live person's, row by row and in SQL."""
    from flask_appbuilder import Model

    _person, records, live = erased
    models = {m.class_ for m in Model.registry.mappers if contact_links(m.class_)}
    assert {spec.model for spec in KINDS.values()} <= models
    for kind, spec in KINDS.items():
        assert about_anonymised(session.get(spec.model, records[kind])), kind
        assert not about_anonymised(session.get(spec.model, live[kind])), kind
        assert anonymised_ids(session, spec.model, [records[kind], live[kind]]) \
            == {records[kind]}, kind
    assert about_anonymised(session.get(Contact, _person))
