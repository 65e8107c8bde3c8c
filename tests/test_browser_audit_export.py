"""The audit trail downloaded in a real browser: what its filters select (crm.views.audit_export).

Playwright drives Debian's Chromium against `live_server`, as test_browser_export does.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from playwright.sync_api import Page

from crm.models import AuditEvent
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_the_dpo_downloads_the_events_of_a_person_by_name(page: Page, session,
                                                          screenshot_dir):
    sales = session.scalar(sa.select(User.id).where(User.username == "sales"))
    start = datetime.now(UTC) - timedelta(hours=1)
    for minute, (actor, actor_id, object_id) in enumerate(
            [("sales", sales, "51"), ("support", None, "52"), ("sales", sales, "53")]):
        session.add(AuditEvent(action="view", actor=actor, actor_id=actor_id,
                               object_type="Contact", object_id=object_id,
                               at=start + timedelta(minutes=minute)))
    session.commit()

    sign_in(page, "dpo")
    # Sanna Myyjä's events, as the filter box sends "Who: name or username contains".
    page.goto("/auditeventview/list/?_flt_2_actor=myyjä")
    page.screenshot(path=str(screenshot_dir / "audit-trail-download.png"), full_page=True)
    with page.expect_download() as info:
        page.locator("#audit-export").click()
    download = info.value
    assert download.suggested_filename.startswith("audit-trail-")
    text = open(download.path(), encoding="utf-8-sig", newline="").read()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["Aika", "Tekijä", "Toiminto"]
    assert [row[4] for row in rows[1:] if row[2] == "Katsottu"] == ["53", "51"]
