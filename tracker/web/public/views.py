"""Public pages.

Rule 8: a public page never shows a live total or a ledger balance; every
figure comes from publications. Until publications exist, the home page lists
the public funds and campaigns without figures.

May import: models (public fields of prisoners and campaigns only).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from tracker.extensions import db
from tracker.models import Campaign, Prisoner

bp = Blueprint("public", __name__)


@bp.get("/")
def home() -> str:
    """The public funds and campaigns."""
    prisoners = db.session.scalars(
        sa.select(Prisoner).where(Prisoner.public.is_(True)).order_by(Prisoner.name)
    ).all()
    campaigns = db.session.scalars(
        sa.select(Campaign).where(Campaign.public.is_(True)).order_by(Campaign.tag)
    ).all()
    return render_template("public/home.html", prisoners=prisoners, campaigns=campaigns)
