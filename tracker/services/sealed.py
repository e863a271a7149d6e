"""Opening sealed raw rows with the treasurer's private key (on their own machine).

May import: models, :mod:`tracker.sealing`.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from tracker.errors import NotFound
from tracker.models import ImportBatch, RawRow, StatementLine
from tracker.sealing import BatchOpener, load_private_key


def open_line(session: Session, line_id: int, key_file: str) -> dict[str, Any]:
    """The statement line's raw row, every column in clear, and its readable part."""
    line = session.get(StatementLine, line_id)
    if line is None or line.raw_row_id is None:
        raise NotFound(f"no statement line {line_id}")
    raw = session.get(RawRow, line.raw_row_id)
    batch = session.get(ImportBatch, raw.batch_id) if raw else None
    if raw is None or batch is None or raw.sealed is None or batch.sealed_key is None:
        raise NotFound(f"statement line {line_id} has no sealed row (purged or never sealed)")
    opener = BatchOpener(load_private_key(key_file), batch.sealed_key)
    columns = json.loads(opener.open(raw.sealed).decode("utf-8"))
    return {"line_id": line_id, "batch_id": batch.id, "line": raw.line_no, "columns": dict(columns), "readable": raw.readable}
