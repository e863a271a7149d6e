"""Creating and upgrading the database.

``init_database`` runs the Alembic migrations (never ``create_all``) and
creates the funds every ledger needs (general and review).

May import: Flask-Migrate, models, the ledger service.
"""

from __future__ import annotations

from flask import current_app
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from tracker.services import unit_of_work
from tracker.services.ledger import general_fund, review_fund


def init_database() -> str:
    """Upgrade the schema to the newest migration; return the URL without password."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    with unit_of_work() as session:
        general_fund(session)
        review_fund(session)
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    return url.render_as_string(hide_password=True)
