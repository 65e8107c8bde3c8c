"""A run of the Art. 14 notices job says whom it counted: those due soon or overdue.

The job counts the people whose notice falls due within CRM_ART14_REMINDER_DAYS, or
is overdue (crm.jobs.reminders.art14_notices). Labelled "People owed an Art. 14
notice", a count of 0 read as "nobody is owed one" while a list received a week ago
still was, all of it.
"""

from __future__ import annotations

from datetime import timedelta

from crm.models import JobRun, Provenance, Source, SourceKind
from crm.models.base import register_today
from tests.factories import make_contact
from tests.test_jobs import count_cell, english, run


def test_a_runs_count_of_art14_notices_says_it_counts_those_due_soon(app, session, login_as):
    bought = Source(kind=SourceKind.purchased_list, name="Lista", supplier="Toimittaja Oy",
                    received_on=register_today() - timedelta(days=3), file_hash="d" * 64)
    session.add(bought)
    session.flush()
    # Owed a notice, due in four weeks: not yet counted.
    session.add(Provenance(contact=make_contact(session, source=bought), source=bought,
                           art14_due_on=register_today() + timedelta(days=27)))
    session.commit()
    outcome = run(app, "art14_notices", dry_run=True)
    assert outcome.counts["owed"] == 0
    session.expire_all()
    run_row = session.get(JobRun, outcome.run_id)

    page = english(login_as("privacy")).get(f"/jobrunview/show/{run_row.id}").get_data(as_text=True)
    assert count_cell(page, "owed") == ("People whose Art. 14 notice is due soon or overdue", "0")
    assert count_cell(page, "overdue")[0] == "Of them overdue"
