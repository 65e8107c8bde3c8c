"""The audit trail reads its events' details in the reader's language (DESIGN §9.5).

Details are stored as codes and figures, never personal values; the event's page says
what they mean, in Finnish or English, and shows a detail it does not know as stored.
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from crm.models import AuditEvent
from crm.services.audit_details import detail_text


@pytest.mark.parametrize("stored, fi, en", [
    ("sso", "Kertakirjautumisella", "Through single sign-on"),
    ("password", "Käyttäjätunnuksella ja salasanalla", "With username and password"),
    ("no_mapped_group", "Ei missään ryhmässä, joka antaa pääsyn",
     "In no group that gives access"),
    ("request 12", "Pyyntö #12", "Request #12"),
    ("rectification request 7", "Oikaisupyyntö #7", "Rectification request #7"),
    ("html request 4", "HTML-muodossa, pyyntö #4", "As HTML, request #4"),
    ("json", "JSON-muodossa", "As JSON"),
    ("matches 1", "1 osuma", "1 match"),
    ("matches 3", "3 osumaa", "3 matches"),
    ("audience CSV, 120 rows", "Markkinoinnin vastaanottajat CSV-tiedostona, 120 riviä",
     "Marketing audience as CSV, 120 rows"),
    ("mailchimp webhook unsubscribe", "Mailchimpin webhook: peruttu tilaus",
     "Mailchimp webhook: unsubscribed"),
    ("new=3 merged=1 duplicate=0 suppressed=2 opted_out=0 invalid=0",
     "Uusia yhteyshenkilöitä 3, Yhdistetty olemassa oleviin yhteyshenkilöihin 1, "
     "Kaksoiskappaleita 0, Ohitettu: estolistalla 2, "
     "Ohitettu: perunut tilauksen tai vastustanut 0, Virheellisiä rivejä 0",
     "New contacts 3, Merged into existing contacts 1, Duplicates 0, "
     "Skipped: on the suppression list 2, Skipped: unsubscribed or objected 0, "
     "Lines with errors 0"),
    ("retention succeeded dry run", "Säilytysaikojen toteutus: Onnistui (Koeajo)",
     "Retention: Succeeded (Dry run)"),
    # A job's run with the counts its job sums up (crm.jobs.runner), labelled as on its page.
    ("mailchimp_sync succeeded sent=120 unsubscribed=3 unchanged=0 refused=2",
     "Mailchimp-synkronointi: Onnistui. Lähetetty Mailchimpiin 120, Tilaus peruttu "
     "Mailchimpissä 3, Ennallaan 0, Mailchimp hylkäsi 2",
     "Mailchimp sync: Succeeded. Sent to Mailchimp 120, Unsubscribed at Mailchimp 3, "
     "Unchanged 0, Refused by Mailchimp 2"),
    # As the demo stores them (alphabetically): read in the import screen's order.
    ("duplicate=0 invalid=0 merged=0 new=56 opted_out=0 suppressed=0",
     "Uusia yhteyshenkilöitä 56, Yhdistetty olemassa oleviin yhteyshenkilöihin 0, "
     "Kaksoiskappaleita 0, Ohitettu: estolistalla 0, "
     "Ohitettu: perunut tilauksen tai vastustanut 0, Virheellisiä rivejä 0",
     "New contacts 56, Merged into existing contacts 0, Duplicates 0, "
     "Skipped: on the suppression list 0, Skipped: unsubscribed or objected 0, "
     "Lines with errors 0"),
    ("+Sales -Marketing", "+Myynti, -Markkinointi", "+Sales, -Marketing"),
    ("DPO,Privacy", "Tietosuojavastaava, Tietosuoja", "DPO, Privacy"),
    ("something_new 5 x", "something_new 5 x", "something_new 5 x"),
])
def test_details_read_in_the_readers_language(app, stored, fi, en):
    with app.test_request_context():
        with force_locale("fi"):
            assert detail_text(stored) == fi
        with force_locale("en"):
            assert detail_text(stored) == en


def test_an_events_page_shows_its_detail_readably(session, login_as):
    event = AuditEvent(action="export", actor="marketing", object_type="MarketingAudience",
                       fields=["email"], detail="audience CSV, 2 rows")
    session.add(event)
    session.commit()
    client = login_as("dpo")
    page = client.get(f"/auditeventview/show/{event.id}").get_data(as_text=True)
    assert "Markkinoinnin vastaanottajat CSV-tiedostona, 2 riviä" in page
    assert "audience CSV" not in page
