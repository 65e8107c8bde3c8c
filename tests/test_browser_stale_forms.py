"""The privacy officer presses a job's button on a jobs screen left open while the session
ended (signed out and in again in another tab), in a real browser: the jobs screen says
nothing was run, instead of an error page (crm.views.jobs).

Selectors use ids and classes, never label texts (the UI is in Finnish by default).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import JobRun
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser


def test_a_jobs_screen_left_open_across_sessions_runs_nothing_and_says_so(page: Page, session,
                                                                         screenshot_dir):
    sign_in(page, "privacy")
    page.goto("/jobs/")
    # Another tab signs out and in again: the open screen's form token is now stale.
    other = page.context.new_page()
    other.goto("/logout/")
    other.click("#sign-out-button")
    other.wait_for_load_state()
    sign_in(other, "privacy")
    other.close()

    page.locator("button#dry-run-session_purge").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/jobs/$"))
    expect(page.locator(".alert-danger")).to_have_count(1)
    expect(page.locator("table.crm-jobs")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "jobs-stale-form.png"), full_page=True)
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0
