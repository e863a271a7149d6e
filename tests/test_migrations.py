"""The migrations build exactly the schema the models declare, on both engines."""

from __future__ import annotations

from typing import Any


def test_migrated_schema_matches_the_models(app: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import tracker.models  # noqa: F401
    from tracker.extensions import db
    from tracker.models.note_search import include_name

    # the note full-text index lives outside the models (FTS5 tables, expression indexes)
    opts = {"compare_type": True, "include_name": include_name}
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts=opts), db.metadata)
    assert diff == []
