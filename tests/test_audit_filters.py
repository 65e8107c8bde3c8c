"""The audit trail filtered by who acted, by their name as well as their username
(crm.views.audit_filters), on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from crm.models import AuditEvent

#: object id -> who acted (username as stored, account id or None). The demo users are
#: "Sanna Myyjä" (sales) and "Tiina Tietosuoja" (dpo); "entinen" no longer has an account.
EVENTS = {"41": "sales", "42": "dpo", "43": "entinen", "44": None, "45": "support"}


@pytest.fixture
def trail(session):
    ids = dict(session.execute(sa.select(User.username, User.id)).all())
    for object_id, actor in EVENTS.items():
        session.add(AuditEvent(action="view", object_type="Contact", object_id=object_id,
                               actor=actor, actor_id=ids.get(actor, 99999 if actor else None)))
    session.commit()


def _listed(client, **filters) -> set[str]:
    page = client.get("/auditeventview/list/", query_string=filters).get_data(as_text=True)
    flat = page.replace(" ", "").replace("\n", "")
    return {i for i in EVENTS if f">{i}<" in flat}


@pytest.mark.parametrize(("typed", "found"), [
    ("Myyjä", {"41"}),            # a last name, beyond ASCII
    ("MYYJÄ", {"41"}),            # in any letter case
    ("sanna myy", {"41"}),        # first name and last name
    ("Myyjä Sanna", {"41"}),      # last name first
    ("tietosuoja", {"42"}),
    ("ales", {"41"}),             # a part of the username
    ("ENTINEN", {"43"}),          # the username stored, of an account since removed
    ("a_y", set()),               # "_" is a letter typed, not any letter
    ("%", set()),
])
def test_who_acted_is_found_by_a_part_of_their_name_or_username(trail, login_as, typed, found):
    client = login_as("dpo")
    # "contains" (_flt_2_), where FAB's text filters have it.
    assert _listed(client, _flt_2_actor=typed) == found


def test_does_not_contain_leaves_out_whom_contains_finds(trail, login_as):
    client = login_as("privacy")
    # An event of no one (a job's) is not by Sanna Myyjä either.
    assert _listed(client, _flt_6_actor="myyjä") == {"42", "43", "44", "45"}


def test_the_filter_box_names_the_actors_contains_as_by_name(trail, signed_in):
    from tests.test_audit_trail import _filter_box_field

    page = signed_in("dpo").get("/auditeventview/list/").get_data(as_text=True)
    assert "Name or username contains" in page
    # Its other filters stay where an address saved before names them.
    assert _filter_box_field(page, "actor").startswith("<input")
    assert _listed(signed_in("dpo"), _flt_0_actor="supp") == {"45"}  # starts with
    assert _listed(signed_in("dpo"), _flt_3_actor="dpo") == {"42"}  # equal to


@pytest.mark.parametrize(("index", "typed", "found"), [
    (0, "Sanna", {"41"}),                 # starts with: the first name
    (0, "myyjä", {"41"}),                 # ... or the last name
    (0, "sal", {"41"}),                   # ... or the username
    (1, "Myyjä", {"41"}),                 # ends with
    (3, "Sanna Myyjä", {"41"}),           # is: the full name
    (3, "Sanna", set()),                  # ... whole, not a part
    (4, "Sanna", {"42", "43", "44", "45"}),  # does not start with; a job's event kept
    (7, "tiina tietosuoja", {"41", "43", "44", "45"}),  # is not
])
def test_every_condition_on_who_acted_reads_their_name_too(trail, login_as, index, typed,
                                                            found):
    """The default condition ("starts with") found no one by name before: only by the
    username, which readers do not know people by."""
    assert _listed(login_as("privacy"), **{f"_flt_{index}_actor": typed}) == found


def test_every_condition_on_who_acted_says_it_reads_the_name(trail, signed_in):
    page = signed_in("privacy").get("/auditeventview/list/").get_data(as_text=True)
    for condition in ("starts with", "ends with", "contains", "is", "does not start with",
                      "does not end with", "does not contain", "is not"):
        assert f"Name or username {condition}" in page
