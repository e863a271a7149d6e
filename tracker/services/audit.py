"""Writing the audit log: who changed what, when, before and after.

Private text (notes, descriptions meant for treasurers) is recorded only as a
hash, so purging it elsewhere leaves nothing readable here.

May import: models, the standard library.
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from sqlalchemy.orm import Session

from tracker.models import AuditEvent

#: Who is acting: set by the web layer per request ("user:12") and by the CLI.
current_actor: ContextVar[str | None] = ContextVar("tracker_actor", default=None)


def actor() -> str:
    """The label of whoever is acting now (a signed-in user or the CLI's OS user)."""
    value = current_actor.get()
    if value:
        return value
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user database in a container
        return "cli:unknown"


def private(text: str | None) -> str | None:
    """How private text appears in the audit log: a hash, never the text."""
    if text is None:
        return None
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (format(v, "f") if hasattr(v, "as_tuple") else v if _jsonable(v) else str(v)) for k, v in values.items()}


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (flush only; the service commits)."""
    event = AuditEvent(
        actor=actor(),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=_plain(before),
        after=_plain(after),
    )
    session.add(event)
    session.flush()
    return event
