"""The review queue and re-tagging, for treasurers.

The queue shows each waiting donation's searched texts with every rule that
matched or nearly matched highlighted (the tagging engine's own explanation:
a lookalike, a match outside its window...), why it waits and the candidate
campaigns; donations are assigned in bulk. Pages follow the queue's order
(oldest first) by a signed keyset cursor.

Re-tagging previews what the current rules would change and applies exactly
that preview: the confirmation carries a digest of the planned changes, and
if the plan differs by the time it is confirmed (rules or donations changed)
nothing is applied and the new preview is shown.

May import: Flask, Flask-WTF, services, models (read-only queries), :mod:`tracker.web.admin`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for

from tracker.errors import Conflict, TrackerError
from tracker.extensions import db
from tracker.i18n import gettext, ngettext
from tracker.models import Campaign, Role
from tracker.services import review, totals
from tracker.services.search import Cursor, SearchError, decode_cursor, encode_cursor
from tracker.services.tagging import Tagging
from tracker.web.admin.access import requires
from tracker.web.admin.catalog_preview import highlight
from tracker.web.admin.views import ActionForm, bp

PAGE = 50
#: at most this many planned changes are listed; all of them are applied
SHOWN_CHANGES = 500


def _marked(tagging: Tagging, item: review.ReviewItem) -> list[tuple[str, list[Any]]]:
    """Each searched text cut into plain and highlighted segments."""
    on = date.fromisoformat(item.received_at)
    findings = tagging.tagger.explain(item.texts, on=on)
    out = []
    for name, text in item.texts:
        mine = [f for f in findings if f.field == name and f.text == text[f.start : f.end]]
        out.append((name, highlight(text, mine)))
    return out


@bp.route("/review", methods=["GET", "POST"])
@requires(Role.TREASURER)
def review_page() -> Any:
    """Donations waiting for a campaign: their text, why, candidates; assign in bulk."""
    form = ActionForm()
    if form.validate_on_submit():
        ids = [int(v) for v in request.form.getlist("donation") if v.isdigit()]
        target = request.form.get("campaign", "")
        if not ids:
            flash(gettext("Choose at least one donation."))
        else:
            try:
                done = review.assign(ids, campaign_tag=None if target == "general" else target)
            except TrackerError as error:
                flash(str(error))
            else:
                flash(ngettext(
                    "%(num)d donation assigned.", "%(num)d donations assigned.", len(done)
                ))
        return redirect(url_for("admin.review_page"))
    after = None
    token = request.args.get("after", "")
    if token:
        try:
            cursor = decode_cursor(token, "review")
        except SearchError as error:
            flash(str(error))
            return redirect(url_for("admin.review_page"))
        after = (cursor.at, cursor.id)
    items = review.review_queue(db.session, limit=PAGE + 1, after=after)
    more = len(items) > PAGE
    items = items[:PAGE]
    tagging = Tagging(db.session)
    texts_of = {i.donation_id: _marked(tagging, i) for i in items}
    waiting = totals.waiting_for_review(db.session)
    next_token = encode_cursor(Cursor("review", "next", items[-1].moment, items[-1].donation_id)) if more and items[-1].moment else None
    # plain rows: the rollback below would expire ORM objects, and the page reload each one
    campaigns = db.session.execute(
        sa.select(Campaign.tag, Campaign.title).order_by(Campaign.tag)
    ).all()
    db.session.rollback()
    return render_template(
        "admin/review.html", items=items, texts_of=texts_of, campaigns=campaigns, form=form,
        next_token=next_token, first_page=not token, waiting=waiting,
        # translated once, filled in for each row
        choose_label=gettext("Choose donation %(id)d"),
    )


def plan_digest(changes: list[review.RetagChange]) -> str:
    """A short digest of a re-tagging plan: which donation goes where."""
    text = "\n".join(f"{c.donation_id}:{c.before}>{c.after}" for c in changes)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@bp.route("/retag", methods=["GET", "POST"])
@requires(Role.TREASURER)
def retag_page() -> Any:
    """What the current rules would change; apply exactly that, or nothing."""
    form = ActionForm()
    if form.validate_on_submit():
        seen = request.form.get("plan", "")
        try:
            done = review.retag(expected=lambda plan: hmac.compare_digest(seen, plan_digest(plan)))
        except Conflict:
            flash(gettext("The rules or the donations changed since the preview: look at the new preview before applying it."))
        else:
            flash(ngettext(
                "%(num)d donation re-tagged.", "%(num)d donations re-tagged.", len(done)
            ))
        return redirect(url_for("admin.retag_page"))
    changes = review.retag_preview(db.session)
    return render_template(
        "admin/retag.html", changes=changes[:SHOWN_CHANGES], total=len(changes), digest=plan_digest(changes), form=form,
    )
