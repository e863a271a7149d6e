"""Configuration defaults and how settings are read.

Nothing here reads the environment at import time: :func:`load` is called by
``create_app`` and applies, in order, these defaults, the instance config file
(``instance/tracker.cfg``), ``TRACKER_*`` environment variables, the named
environment variables of the contract (``DATABASE_URL``, ``SECRET_KEY``,
``STRIPE_API_KEY``, ``STRIPE_WEBHOOK_SECRET``), and finally the mapping passed
to ``create_app``.

May import: the standard library, Flask (types only), :mod:`tracker.errors`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask

#: Environments in which a missing SECRET_KEY is replaced by a generated one.
RELAXED_ENVS = frozenset({"development", "test"})

DEFAULTS: dict[str, Any] = {
    "ENV": "production",
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SQLALCHEMY_RECORD_QUERIES": False,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Import uploads only (the wizard): a 1M-line PayPal export is about 400 MB.
    "IMPORT_MAX_BYTES": 1024 * 1024 * 1024,
    "MAX_FORM_PARTS": 100,
    # A running job whose heartbeat is older than this (and whose process
    # cannot be seen) is stalled; an RQ job is killed after JOB_TIMEOUT_SECONDS.
    "JOB_STALE_SECONDS": 900,
    "JOB_TIMEOUT_SECONDS": 6 * 3600,
    "STRIPE_API_KEY": None,
    "STRIPE_WEBHOOK_SECRET": None,
    # Keys for sealing donor identity (rule 10): never stored in the database
    # or the instance folder. Either the value (hex) or a path to a key file.
    "HASH_KEY": None,
    "HASH_KEY_FILE": None,
    "PUBLIC_KEY": None,
    "PUBLIC_KEY_FILE": None,
    "GROUP_NAME": "Solidarity fund",
    # Shared storage for sign-in rate limits (required outside development).
    "REDIS_URL": None,
    # How many reverse proxies (setting X-Forwarded-*) stand in front of the app.
    "PROXY_COUNT": 0,
    # Admins and treasurers must use a second factor; False only for a local demo.
    "REQUIRE_SECOND_FACTOR": True,
}

_CONTRACT_ENV = ("DATABASE_URL", "SECRET_KEY", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "REDIS_URL")
_RAW_ENV = ("HASH_KEY", "HASH_KEY_FILE", "PUBLIC_KEY", "PUBLIC_KEY_FILE", "SECRET_KEY")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written without a driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, instance file, environment and overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("tracker.cfg", silent=True)
    app.config.from_prefixed_env("TRACKER")
    for name in _RAW_ENV:
        # Keys are hex strings that JSON would read as numbers: keep them raw.
        value = os.environ.get("TRACKER_" + name)
        if value:
            app.config[name] = value
    for name in _CONTRACT_ENV:
        value = os.environ.get(name)
        if value:
            app.config[name] = value
    if overrides:
        app.config.from_mapping(overrides)
    # TRACKER_ENV arrives as ENV through from_prefixed_env.
    env = str(app.config.get("TRACKER_ENV") or app.config.get("ENV") or "production")
    if app.config.get("TESTING"):
        env = "test"
    app.config["TRACKER_ENV"] = env

    url = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = "sqlite:///" + str(Path(app.instance_path) / "tracker.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(str(url))

    if not app.config.get("SECRET_KEY"):
        if env not in RELAXED_ENVS:
            raise ConfigError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
                "(or TRACKER_ENV=development for a local demo)."
            )
        app.config["SECRET_KEY"] = secrets.token_hex(32)

