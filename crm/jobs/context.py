"""What a job function gets from the runner."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy.engine import Engine

#: Set when the scheduler shuts down: running jobs stop at their next batch boundary.
STOPPING = threading.Event()


class JobError(Exception):
    """A job's own failure; its message is written without personal data and recorded."""


class JobSkipped(Exception):
    """The job cannot do its work for a reason known before it starts (a service it
    needs is not configured): the run is recorded as skipped, with this message
    (written without personal data), not as a success that did nothing."""


class JobStopped(JobError):
    """The job stopped between batches because its process is shutting down."""


@dataclass
class JobContext:
    """One run of a job.

    :ivar counts: what the run did so far, per kind of record; kept with the run
        also when it fails. Counts only, never values.
    :ivar heartbeat: call between batches: keeps the job's lock and stops the run
        when the process is shutting down.
    :ivar hooks: test hooks by name (e.g. "before_batch"); empty in production.
    """

    app: Flask
    engine: Engine
    now: datetime
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    keep_lock: Callable[[], None] = lambda: None
    hooks: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @property
    def config(self):
        return self.app.config

    def heartbeat(self) -> None:
        if STOPPING.is_set():
            raise JobStopped("stopped between batches: the scheduler is shutting down")
        self.keep_lock()

    def today(self) -> date:
        """Return today's date where the register is kept (`CRM_TIMEZONE`)."""
        return self.now.astimezone(ZoneInfo(self.config["CRM_TIMEZONE"])).date()
