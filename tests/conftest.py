"""Shared test set-up: both database engines, an app per test, no network.

Every test that asks for ``app`` (or ``session``) runs twice: on a SQLite file
database and on PostgreSQL. PostgreSQL comes from ``TEST_POSTGRES_URL`` (an
empty database ``.ci/run`` creates) or, if unset, from a server on
127.0.0.1:5432 where this module creates and later drops a database of its
own. Without a reachable server those tests skip, except under ``CI=true``,
where they fail.

Isolation is honest: SQLite tests get a fresh copy of a migrated template file;
PostgreSQL tests start from truncated tables. Both commit for real.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from nacl.public import PrivateKey

pytest_plugins = ["tests.factories"]

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "nightly",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(__file__).resolve().parents[2] / "shared"
TEST_PRIVATE_KEY = PrivateKey(bytes.fromhex("11" * 32))
TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "HASH_KEY": "42" * 32,
    "PUBLIC_KEY": bytes(TEST_PRIVATE_KEY.public_key).hex(),
    "GROUP_NAME": "Test solidarity fund",
    # tests cut releases and look at once: no caching of the chain head
    "PUBLIC_HEAD_MAX_AGE": 0.0,
}
ENGINES = ("sqlite", "postgresql")


def missing(reason: str) -> None:
    """Skip for a missing dependency, or fail under CI where nothing may be skipped."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: dependencies must be installed, not skipped)")
    pytest.skip(reason)


# --- translations -------------------------------------------------------------


def _compile_catalogs() -> None:
    """Compile .po to .mo when stale, so a bare ``pytest`` sees translations."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1] / "tracker" / "translations"
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle)
        partial = mo.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            write_mo(handle, catalog)
        partial.replace(mo)


_compile_catalogs()


# --- no network ---------------------------------------------------------------


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
        raise RuntimeError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("TRACKER_TEST_ALLOW_NETWORK"):
        return
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# --- databases --------------------------------------------------------------


def _server_url() -> str:
    return os.environ.get("TEST_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


class Database:
    """A migrated database for one engine, reset between tests."""

    def __init__(self, engine: str, tmp: Path) -> None:
        self.engine_name = engine
        self.tmp = tmp
        self.created: str | None = None
        self.template: Path | None = None
        if engine == "sqlite":
            self.template = tmp / "template.sqlite3"
            self.url = f"sqlite:///{self.template}"
        else:
            given = os.environ.get("TEST_POSTGRES_URL")
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            if given and worker == "main":
                self.url = given
            else:
                if not given and not _pg_reachable():
                    missing("no PostgreSQL server on 127.0.0.1:5432")
                base = sa.make_url(given or _server_url())
                name = f"tracker_test_{worker}_{uuid.uuid4().hex[:8]}"
                admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                admin.dispose()
                self.created = name
                self.url = base.set(database=name).render_as_string(hide_password=False)
        self._migrate()
        self.tables = self._table_names()

    def _migrate(self) -> None:
        from tracker import create_app
        from tracker.services.setup import init_database

        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": self.url}, instance_path=self.tmp / "instance")
        with app.app_context():
            init_database()
            from tracker.extensions import db

            db.engine.dispose()

    def _table_names(self) -> list[str]:
        engine = sa.create_engine(self.url)
        names = [n for n in sa.inspect(engine).get_table_names() if n != "alembic_version"]
        engine.dispose()
        return names

    def fresh_url(self, test_tmp: Path) -> str:
        """A URL to a database in the just-migrated state."""
        if self.engine_name == "sqlite":
            assert self.template is not None
            target = test_tmp / "tracker.sqlite3"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        return self.url

    def reset(self) -> None:
        """Back to the just-migrated state (PostgreSQL; SQLite copies a file instead)."""
        if self.engine_name != "postgresql":
            return
        engine = sa.create_engine(self.url)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in self.tables) + " RESTART IDENTITY CASCADE"
            )
        engine.dispose()
        from tracker import create_app
        from tracker.services.setup import init_database

        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": self.url}, instance_path=self.tmp / "instance")
        with app.app_context():
            init_database()
            from tracker.extensions import db

            db.engine.dispose()

    def drop(self) -> None:
        """Drop the database this run created."""
        if not self.created:
            return
        admin = sa.create_engine(sa.make_url(self.url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.created}" WITH (FORCE)')
        admin.dispose()


_databases: dict[str, Database] = {}


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    yield _databases
    for database in _databases.values():
        database.drop()


def database_for(engine: str, databases: dict[str, Database], tmp_path_factory: pytest.TempPathFactory) -> Database:
    if engine not in databases:
        databases[engine] = Database(engine, tmp_path_factory.mktemp(f"db-{engine}"))
    return databases[engine]


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(
    engine_name: str, databases: dict[str, Database], tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Iterator[str]:
    database = database_for(engine_name, databases, tmp_path_factory)
    database.reset()
    yield database.fresh_url(tmp_path)


def make_app(db_url: str, tmp_path: Path, **overrides: Any) -> Any:
    from tracker import create_app

    return create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url, **overrides}, instance_path=tmp_path / "instance"
    )


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Any]:
    application = make_app(db_url, tmp_path)
    with application.app_context():
        yield application
        from tracker.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app: Any) -> Any:
    from tracker.extensions import db

    return db.session


@pytest.fixture
def shared_samples() -> Path:
    samples = SHARED / "formats" / "samples"
    if not samples.is_dir():
        missing(f"sample files not found at {samples} (they live in ../shared)")
    return samples
