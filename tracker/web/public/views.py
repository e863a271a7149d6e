"""Public pages: home, a prisoner's fund, a campaign, the methodology.

Rule 8: every figure comes from :mod:`tracker.services.published` (the
publication chain), never from donations, statement lines or balances. The
language is in the URL (``/en/...``, ``/ru/...``); ``/`` redirects by
``Accept-Language``. Pages are built once per release and language
(:func:`tracker.web.http.public_response`).

May import: Flask, Flask-Babel, :mod:`tracker.services.published`,
:mod:`tracker.web.http`, :mod:`tracker.web.public.charts`.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from tracker.i18n import LOCALES
from tracker.services.published import Figures
from tracker.web.http import public_response
from tracker.web.public import charts

bp = Blueprint("public", __name__)

LANG = "<any(en,ru):lang>"


@bp.get("/")
def root() -> Response:
    """Send visitors to their language; the only response that varies by Accept-Language."""
    lang = request.accept_languages.best_match(LOCALES) or LOCALES[0]
    response = redirect(url_for("public.home", lang=lang), code=302)
    response.headers["Vary"] = "Accept-Language"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _page(template: str, lang: str, **context: object) -> Response:
    def build(figures: Figures) -> str:
        return render_template(template, figures=figures, lang=lang, **context)

    return public_response(build, "text/html", lang=lang)


@bp.get(f"/{LANG}/")
def home(lang: str) -> Response:
    """The group's totals, then a card per prisoner fund and per active campaign."""
    return _page("public/home.html", lang)


@bp.get(f"/{LANG}/prisoner/<slug>")
def prisoner(lang: str, slug: str) -> Response:
    """One prisoner's fund: raised, spent, held; per period; by category; its campaigns."""

    def build(figures: Figures) -> str:
        fund = figures.prisoner(slug)
        if fund is None:
            abort(404)
        return render_template("public/prisoner.html", figures=figures, fund=fund, lang=lang, chart=charts.fund_chart(fund, lang))

    return public_response(build, "text/html", lang=lang)


@bp.get(f"/{LANG}/campaign/<tag>")
def campaign(lang: str, tag: str) -> Response:
    """One campaign: how to give, window and goal, money per period, prisoners, events."""

    def build(figures: Figures) -> str:
        item = figures.campaigns.get(tag)
        if item is None:
            abort(404)
        return render_template("public/campaign.html", figures=figures, campaign=item, lang=lang, chart=charts.campaign_chart(item, lang))

    return public_response(build, "text/html", lang=lang)


@bp.get(f"/{LANG}/methodology")
def methodology(lang: str) -> Response:
    """What is published, when, with which rules, and what remains possible."""
    return _page("public/methodology.html", lang)


@bp.get("/robots.txt")
def robots() -> Response:
    """Crawlers may read everything public."""
    return public_response(lambda _f: "User-agent: *\nAllow: /\nDisallow: /admin\n", "text/plain")


ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#24292f"/><path d="M4 8h8M8 4v8" stroke="#fff" stroke-width="2"/></svg>'
)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """A tiny SVG icon, so browsers do not log a missing one."""
    return public_response(lambda _f: ICON, "image/svg+xml")
