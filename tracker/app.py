"""The application factory.

``create_app`` is pure: it reads configuration, binds extensions, registers
blueprints, error handlers and CLI commands. It never migrates, connects to
the network or sleeps; the schema is created by ``tracker init-db``.

May import: everything in the package (it wires it together).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context
from sqlalchemy import event

from tracker import config as config_module
from tracker.errors import ConfigError
from tracker.extensions import babel, db, migrate
from tracker.i18n import LOCALES, TRANSLATIONS_DIR

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(
    config: dict[str, Any] | None = None, *, instance_path: str | Path | None = None
) -> Flask:
    """Build the Flask application.

    Args:
        config: settings that override every other source (tests use this).
        instance_path: the instance folder (default ``./instance`` beside the
            package); holds the SQLite database and ``tracker.cfg``.
    """
    app = Flask(
        "tracker",
        instance_path=str(Path(instance_path).resolve())
        if instance_path
        else str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    config_module.load(app, config)
    _register_extensions(app)
    _register_blueprints(app)
    _register_cli(app)
    return app


def _register_extensions(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        # Let SQLAlchemy, not pysqlite, issue BEGIN (see _sqlite_pragmas).
        connect_args.setdefault("isolation_level", None)
        connect_args.setdefault("timeout", 30)
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    elif uri.startswith("postgresql"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        # No JIT: the app's queries read a page or a few rows, and compiling them costs 50-100 ms
        # whenever the planner's estimate for a big table passes jit_above_cost.
        connect_args["options"] = " ".join(filter(None, (connect_args.get("options"), "-c jit=off")))
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    from tracker.models.note_search import include_name

    migrate.init_app(
        app, db, directory=str(PROJECT_ROOT / "migrations"), compare_type=True, include_name=include_name
    )
    babel.init_app(app, locale_selector=_select_locale)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite" and not getattr(engine, "_tracker_pragmas", False):
            mode = str(app.config.get("SQLITE_JOURNAL_MODE", "WAL")).upper()
            if mode not in ("WAL", "DELETE"):
                raise ConfigError("SQLITE_JOURNAL_MODE must be WAL or DELETE")
            event.listen(engine, "connect", functools.partial(_sqlite_pragmas, mode))
            event.listen(engine, "begin", _sqlite_begin)
            engine._tracker_pragmas = True  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql" and not getattr(engine, "_tracker_begin", False):
            event.listen(engine, "begin", _postgresql_begin)
            engine._tracker_begin = True  # type: ignore[attr-defined]
    from tracker.services import guard

    guard.install()


def _sqlite_pragmas(journal_mode: str, dbapi_connection: Any, _record: Any) -> None:
    """Durable, foreign-key-checked SQLite (RELIABILITY.md C3), with the note index's function."""
    from tracker.models.note_search import MONTH_TERMS, month_terms

    # the note-search triggers call it on every write of a note (tracker.models.note_search)
    dbapi_connection.create_function(MONTH_TERMS, 2, month_terms, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA journal_mode = {journal_mode}")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def _postgresql_begin(conn: Any) -> None:
    """A web request's transactions run without parallel workers.

    A page reads a keyset page or a few rows; starting workers for it cost
    more than the query (6-20 ms of a 3 ms scan at a million lines). Imports,
    checks and exports, outside a request, keep the server's setting.
    """
    if has_request_context():
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")


def _sqlite_begin(conn: Any) -> None:
    """Writers take the write lock up front, so they queue instead of failing."""
    if conn.get_execution_options().get("tracker_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _select_locale() -> str | None:
    from flask import request

    if not request:
        return None
    lang = (request.view_args or {}).get("lang")
    return lang if lang in LOCALES else request.accept_languages.best_match(LOCALES)


def _register_blueprints(app: Flask) -> None:
    from flask_wtf.csrf import CSRFProtect

    from tracker.web import errors, http, templating, uploading
    from tracker.web.admin import access
    from tracker.web.admin import bp as admin_bp
    from tracker.web.public import bp as public_bp
    from tracker.web.public.open_data import bp as open_data_bp

    http.install(app)
    uploading.install(app)
    templating.install(app)
    errors.install(app)
    access.install(app)
    CSRFProtect(app)
    app.register_blueprint(public_bp)
    app.register_blueprint(open_data_bp)
    app.register_blueprint(admin_bp)


def _register_cli(app: Flask) -> None:
    from tracker.cli import register

    register(app)

