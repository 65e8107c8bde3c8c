"""The privacy officer looks at the retention forecast, dry-runs the retention job, then
runs it, in a real browser.

Playwright drives Debian's Chromium against `live_server`; selectors use ids, names and
data attributes, never label texts (the UI is in Finnish by default). The contacts
expire under the default policy for prospects: 24 months without activity.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from crm.models import Contact, JobRun, JobStatus, RetentionPolicy
from tests.factories import make_contact
from tests.test_browser import sign_in

pytestmark = pytest.mark.browser

EXPIRED_EMAIL = "vilja.vanhentunut@kokeilu.example"


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def fresh(session, model, pk):
    """Read a row from the database as the live server left it."""
    session.expire_all()
    return session.get(model, pk)


def runs(session) -> list[JobRun]:
    session.expire_all()
    return list(session.scalars(sa.select(JobRun).order_by(JobRun.id)))


def press(page: Page, job: str, dry_run: bool) -> int:
    """Press a job's "dry run" or "run now" button; return the run shown afterwards.

    "Run now" shows its dry run's counts and asks first: the page is left to the caller.
    """
    page.goto("/jobs/")
    page.locator(f"button#{'dry-run' if dry_run else 'run'}-{job}").click()
    page.wait_for_load_state()
    shown = r"/jobrunview/show/(\d+)$" if dry_run else rf"/jobs/confirm/{job}/(\d+)$"
    expect(page).to_have_url(re.compile(shown))
    return int(re.search(shown, page.url).group(1))


def count(page: Page, key: str):
    """The value cell of a count in a run's counts table."""
    return page.locator(f'table.crm-job-counts tr[data-count="{key}"] td')


def count_label(page: Page, key: str):
    return page.locator(f'table.crm-job-counts tr[data-count="{key}"] th')


def test_privacy_forecasts_dry_runs_and_runs_the_retention_job(page: Page, session,
                                                               screenshot_dir):
    expired = make_contact(session, first_name="Vilja", last_name="Vanhentunut",
                           email=EXPIRED_EMAIL, organisation=None,
                           last_activity_at=days_ago(900))
    soon = make_contact(session, first_name="Sulo", last_name="Pianvanheneva",
                        organisation=None, last_activity_at=days_ago(715))
    recent = make_contact(session, first_name="Tuore", last_name="Tuoreinen",
                          organisation=None, last_activity_at=days_ago(30))
    session.commit()
    # Counted under each policy's name, as the privacy officer wrote it (in Finnish).
    prospects_policy = session.scalar(
        sa.select(RetentionPolicy.name).where(RetentionPolicy.code == "prospects"))

    sign_in(page, "privacy")

    # The forecast: one prospect due at the next run, one more within 30 days, by name.
    page.goto("/jobs/")
    page.locator("a#jobs-forecast").click()
    page.wait_for_load_state()
    prospects = page.locator('table.crm-forecast tr[data-policy="prospects"]')
    expect(prospects.locator("td[data-due-now]")).to_have_attribute("data-due-now", "1")
    expect(prospects.locator("td[data-due-soon]")).to_have_attribute("data-due-soon", "1")
    expiring = page.locator("table.crm-expiring")
    for contact in (expired, soon):
        expect(expiring.locator(f'a[href="/contactview/show/{contact.id}"]')).to_have_count(1)
    expect(expiring.locator(f'a[href="/contactview/show/{recent.id}"]')).to_have_count(0)
    page.screenshot(path=screenshot_dir / "jobs-forecast.png", full_page=True)

    # The dry run counts what the job would do, and changes nothing.
    dry_id = press(page, "retention", dry_run=True)
    page.screenshot(path=screenshot_dir / "jobs-dry-run.png", full_page=True)
    dry = fresh(session, JobRun, dry_id)
    assert (dry.job, dry.dry_run, dry.status, dry.trigger) == (
        "retention", True, JobStatus.succeeded, "screen")
    assert dry.counts["prospects"] == 1
    # The counts by the policies' names; the message says nothing was changed.
    expect(count(page, "prospects")).to_have_text("1")
    expect(count_label(page, "prospects")).to_have_text(prospects_policy)
    expect(page.locator(".alert-success")).to_contain_text("Mitään ei muutettu")
    still = fresh(session, Contact, expired.id)
    assert still.anonymised_at is None, "the dry run anonymised the contact"
    assert (still.first_name, still.last_name, still.email) == (
        "Vilja", "Vanhentunut", EXPIRED_EMAIL)

    # The jobs screen shows the dry run as the retention job's last run.
    page.goto("/jobs/")
    last = page.locator('table.crm-jobs tr[data-job="retention"]')
    expect(last.locator(f'a[href="/jobrunview/show/{dry_id}"]')).to_have_count(1)
    page.screenshot(path=screenshot_dir / "jobs-after-dry-run.png", full_page=True)

    # The job's readable title, and when it runs next.
    expect(last.locator("td.crm-job-title strong")).to_have_text("Säilytysaikojen toteutus")
    expect(last.locator(".crm-next-run")).to_have_attribute("data-next-run",
                                                            re.compile(r"T02:30:00\+0[23]:00$"))

    # Run now asks first, showing what a dry run counted; nothing is changed until then.
    preview_id = press(page, "retention", dry_run=False)
    expect(count(page, "prospects")).to_have_text("1")
    expect(count_label(page, "prospects")).to_have_text(prospects_policy)
    page.screenshot(path=screenshot_dir / "jobs-run-confirm.png", full_page=True)
    assert fresh(session, Contact, expired.id).anonymised_at is None, "run before confirming"
    # Cancelled: still nothing.
    page.locator("a#cancel-run").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/jobs/$"))
    assert fresh(session, Contact, expired.id).anonymised_at is None

    # Confirmed: the expired contact is anonymised, the others stay.
    preview_id = press(page, "retention", dry_run=False)
    page.locator("button#confirm-run-retention").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/jobrunview/show/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    expect(count(page, "prospects")).to_have_text("1")
    page.screenshot(path=screenshot_dir / "jobs-run.png", full_page=True)
    done = fresh(session, Contact, expired.id)
    assert done.anonymised_at is not None
    assert "Vilja" not in (done.first_name, done.last_name) and done.email is None
    assert fresh(session, Contact, soon.id).anonymised_at is None
    assert fresh(session, Contact, recent.id).anonymised_at is None

    # The history lists every run, the dry runs before the real one, each with its count.
    recorded = [(r.dry_run, r.counts["prospects"]) for r in runs(session)]
    assert recorded == [(True, 1)] * 3 + [(False, 1)]
    assert runs(session)[-1].id == run_id and preview_id < run_id
    page.goto("/jobs/")
    page.locator("a#jobs-history").click()
    page.wait_for_load_state()
    for run in (dry_id, preview_id, run_id):
        expect(page.locator(f'a[href="/jobrunview/show/{run}"]')).to_have_count(1)
    page.screenshot(path=screenshot_dir / "jobs-history.png", full_page=True)
    page.locator(f'a[href="/jobrunview/show/{run_id}"]').click()
    page.wait_for_load_state()
    expect(count(page, "prospects")).to_have_text("1")

    # The forecast no longer lists the anonymised person.
    page.goto("/jobs/forecast")
    prospects = page.locator('table.crm-forecast tr[data-policy="prospects"]')
    expect(prospects.locator("td[data-due-now]")).to_have_attribute("data-due-now", "0")
    expect(page.locator(f'table.crm-expiring a[href="/contactview/show/{expired.id}"]')) \
        .to_have_count(0)


def test_the_jobs_screen_says_who_started_a_run_and_offers_no_unconfigured_sync(
        page: Page, session, screenshot_dir):
    # The tests leave Mailchimp unconfigured: no API key, no audience.
    sign_in(page, "privacy")
    page.goto("/jobs/")
    sync = page.locator('table.crm-jobs tr[data-job="mailchimp_sync"]')
    expect(sync.locator("button")).to_have_count(0)
    said = sync.locator(".crm-not-configured")
    expect(said).to_be_visible()
    expect(said.locator("code")).to_have_text(["CRM_MAILCHIMP_API_KEY",
                                               "CRM_MAILCHIMP_AUDIENCE_ID"])
    expect(page.locator('table.crm-jobs tr[data-job="session_purge"] button')).to_have_count(2)
    page.screenshot(path=screenshot_dir / "jobs-mailchimp-not-configured.png", full_page=True)

    # A dry run's page names who started it, as the users screen names them.
    run_id = press(page, "session_purge", dry_run=True)
    assert fresh(session, JobRun, run_id).trigger == "screen"
    started = page.locator("tr", has=page.locator("th", has_text="Käynnistäjä"))
    expect(started.locator("td")).to_have_text("Pekka Rekisterinpitäjä (privacy)")
    page.goto("/jobrunview/list/")
    listed = page.locator("tr", has=page.locator(f'a[href="/jobrunview/show/{run_id}"]'))
    expect(listed).to_contain_text("Pekka Rekisterinpitäjä (privacy)")
