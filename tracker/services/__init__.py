"""Use cases: each public function is one unit of work.

A service function commits once at the end or rolls back (STYLE.md habit 5);
helpers only flush. :func:`unit_of_work` opens the transaction (on SQLite with
``BEGIN IMMEDIATE``, so writers queue for the lock instead of failing later).

May import: models, extensions, pure layers (money, records, importers, tagging).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from tracker.errors import TrackerError
from tracker.extensions import db


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A write transaction that commits on success and rolls back on any error."""
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise TrackerError("a unit of work cannot start inside unfinished changes")
        # A read done before (autobegin) must not be upgraded to a write on SQLite.
        session.rollback()
    session.connection(execution_options={"tracker_write": True})
    from tracker.services.donation_totals import DEFERRED as DEFERRED_FIGURES
    from tracker.services.ledger import DEFERRED, flush_balances

    session.info[DEFERRED] = {}
    session.info[DEFERRED_FIGURES] = {}
    try:
        yield session
        flush_balances(session)
        if session.info.get(PAUSE_POINT):
            _before_commit_hook()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(DEFERRED, None)
        session.info.pop(DEFERRED_FIGURES, None)
        session.info.pop(PAUSE_POINT, None)


#: Set on the session by a unit of work the crash tests may stop at (an import's).
PAUSE_POINT = "tracker_pause_point"


def _before_commit_hook() -> None:
    """Crash tests only (RELIABILITY.md C1, C8): announce the commit, then wait to be killed.

    Active only when the app is configured with ``TEST_PAUSE_BEFORE_COMMIT``
    (a path) and the unit of work marked itself as a pause point (an import's
    commit); it writes the path and sleeps, so the test can send SIGKILL at
    the moment the transaction is complete but not committed.
    """
    from flask import current_app

    marker = current_app.config.get("TEST_PAUSE_BEFORE_COMMIT")
    if marker:
        import time
        from pathlib import Path

        Path(marker).write_text("ready")
        time.sleep(int(current_app.config.get("TEST_PAUSE_SECONDS", 30)))
