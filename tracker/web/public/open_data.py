"""Open data and badges: the public figures as JSON, CSV and SVG, language-neutral.

Stable URLs: ``/open-data/totals.json``, ``/campaign/<tag>.json``,
``/prisoner/<slug>.json`` and their ``.csv`` twins, JSON Schemas under
``/open-data/schema/``, the chain at ``/open-data/publications.json`` and
every release's exact bytes at ``/open-data/publications/<seq>.json``.
Amounts are decimal strings; dates are days, never times.

May import: Flask, :mod:`tracker.services.published`, :mod:`tracker.web.http`,
:mod:`tracker.web.public.schemas`, :mod:`tracker.web.public.badges`.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, abort, url_for

from tracker import money
from tracker.extensions import db
from tracker.services import published
from tracker.services.published import CampaignFigures, Figures, FundFigures, Period
from tracker.web.http import EMBEDDABLE, IMMUTABLE_CACHE, public_response, talisman
from tracker.web.public import badges, schemas

bp = Blueprint("open_data", __name__)


def _money(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: money.to_string(amount, currency) for currency, amount in sorted(amounts.items())}


def _release(figures: Figures) -> dict[str, Any] | None:
    if figures.head is None:
        return None
    return {"seq": figures.head.seq, "sha256": figures.head.sha256, "as_of": figures.as_of.isoformat() if figures.as_of else None}


def _periods(periods: list[Period]) -> list[dict[str, Any]]:
    return [
        {"start": p.start.isoformat(), "end": p.end.isoformat(), "received": _money(p.received), "spent": _money(p.spent)}
        for p in periods
    ]


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        # no cell starts with a formula character: names come from the group, still
        writer.writerow(["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") and not _number(v) else v for v in row])
    return out.getvalue()


def _number(value: str) -> bool:
    try:
        Decimal(value)
    except ArithmeticError:
        return False
    return True


def totals_data(figures: Figures) -> dict[str, Any]:
    """The group's figures, every public fund and campaign."""
    base = {name: figures.in_base(getattr(figures, name)) for name in ("raised", "spent", "held")}
    return {
        "$schema": url_for("open_data.schema", name="totals", _external=True),
        "group": figures.group,
        "release": _release(figures),
        "base_currency": figures.base_currency,
        "rates": figures.rates,
        "raised": _money(figures.raised),
        "spent": _money(figures.spent),
        "held": _money(figures.held),
        "in_base_currency": {
            name: None if value is None else {"amount": money.to_string(value[0], figures.base_currency), "without": value[1]}
            for name, value in base.items()
        },
        "prisoners": [
            {"slug": f.slug, "name": f.name, "raised": _money(f.raised), "spent": _money(f.spent), "held": _money(f.held),
             "url": url_for("open_data.prisoner_json", slug=f.slug, _external=True)}
            for f in figures.prisoners
        ],
        "campaigns": [
            {"tag": c.tag, "title": c.title, "raised": _money(c.raised), "goal": _money(c.goal),
             "url": url_for("open_data.campaign_json", tag=c.tag, _external=True)}
            for c in sorted(figures.campaigns.values(), key=lambda c: c.tag)
        ],
    }


def prisoner_data(figures: Figures, fund: FundFigures) -> dict[str, Any]:
    """One prisoner's fund."""
    return {
        "$schema": url_for("open_data.schema", name="prisoner", _external=True),
        "release": _release(figures),
        "slug": fund.slug, "name": fund.name, "description": fund.description,
        "raised": _money(fund.raised), "spent": _money(fund.spent), "held": _money(fund.held),
        "periods": _periods(fund.periods),
        "spending": [
            {"start": s.start.isoformat(), "end": s.end.isoformat(), "category": s.category, "currency": s.currency,
             "amount": money.to_string(s.amount, s.currency), "descriptions": s.descriptions}
            for s in fund.spending
        ],
        "statements": fund.statements,
        "campaigns": fund.campaigns,
    }


def campaign_data(figures: Figures, campaign: CampaignFigures) -> dict[str, Any]:
    """One campaign."""
    return {
        "$schema": url_for("open_data.schema", name="campaign", _external=True),
        "release": _release(figures),
        "tag": campaign.tag, "title": campaign.title, "description": campaign.description,
        "from": campaign.starts_on.isoformat() if campaign.starts_on else None,
        "until": campaign.ends_on.isoformat() if campaign.ends_on else None,
        "goal": _money(campaign.goal),
        "prisoners": campaign.prisoners,
        "raised": _money(campaign.raised),
        "periods": [{k: v for k, v in p.items() if k != "spent"} for p in _periods(campaign.periods)],
        "events": campaign.events,
        "allocation_notes": campaign.allocation_notes,
        "pool": None if campaign.pool is None else {
            "raised": _money(campaign.pool.raised), "spent": _money(campaign.pool.spent), "held": _money(campaign.pool.held)
        },
    }


def _fund_or_404(figures: Figures, slug: str) -> FundFigures:
    fund = figures.prisoner(slug)
    if fund is None:
        abort(404)
    return fund


def _campaign_or_404(figures: Figures, tag: str) -> CampaignFigures:
    campaign = figures.campaigns.get(tag)
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/open-data/totals.json")
def totals_json() -> Response:
    """Everything on the home page, as JSON."""
    return public_response(lambda f: _json(totals_data(f)), "application/json", download="totals.json", disposition="inline")


@bp.get("/open-data/totals.csv")
def totals_csv() -> Response:
    """One row per fund and currency: raised, spent, held."""

    def build(f: Figures) -> str:
        rows = []
        for fund in f.prisoners:
            for currency in sorted(set(fund.raised) | set(fund.spent) | set(fund.held)):
                rows.append(["prisoner", fund.slug, fund.name, currency, *(money.to_string(x.get(currency, money.ZERO), currency) for x in (fund.raised, fund.spent, fund.held))])
        for currency in sorted(set(f.raised) | set(f.spent) | set(f.held)):
            rows.append(["group", "", f.group, currency, *(money.to_string(x.get(currency, money.ZERO), currency) for x in (f.raised, f.spent, f.held))])
        return _csv(["scope", "slug", "name", "currency", "raised", "spent", "held"], rows)

    return public_response(build, "text/csv", download="totals.csv")


@bp.get("/prisoner/<slug>.json")
def prisoner_json(slug: str) -> Response:
    """One prisoner's fund, as JSON."""
    return public_response(lambda f: _json(prisoner_data(f, _fund_or_404(f, slug))), "application/json",
                           download=lambda f: f"prisoner-{_fund_or_404(f, slug).slug}.json", disposition="inline")


@bp.get("/prisoner/<slug>.csv")
def prisoner_csv(slug: str) -> Response:
    """One row per published period and currency: received and spent."""

    def build(f: Figures) -> str:
        fund = _fund_or_404(f, slug)
        rows = [
            [p.start.isoformat(), p.end.isoformat(), currency,
             money.to_string(p.received.get(currency, money.ZERO), currency), money.to_string(p.spent.get(currency, money.ZERO), currency)]
            for p in fund.periods for currency in sorted(set(p.received) | set(p.spent))
        ]
        return _csv(["period_start", "period_end", "currency", "received", "spent"], rows)

    return public_response(build, "text/csv", download=lambda f: f"prisoner-{_fund_or_404(f, slug).slug}.csv")


@bp.get("/campaign/<tag>.json")
def campaign_json(tag: str) -> Response:
    """One campaign, as JSON."""
    return public_response(lambda f: _json(campaign_data(f, _campaign_or_404(f, tag))), "application/json",
                           download=lambda f: f"campaign-{_campaign_or_404(f, tag).tag}.json", disposition="inline")


@bp.get("/campaign/<tag>.csv")
def campaign_csv(tag: str) -> Response:
    """One row per published period and currency: received."""

    def build(f: Figures) -> str:
        campaign = _campaign_or_404(f, tag)
        rows = [
            [p.start.isoformat(), p.end.isoformat(), currency, money.to_string(amount, currency)]
            for p in campaign.periods for currency, amount in sorted(p.received.items())
        ]
        return _csv(["period_start", "period_end", "currency", "received"], rows)

    return public_response(build, "text/csv", download=lambda f: f"campaign-{_campaign_or_404(f, tag).tag}.csv")


@bp.get("/open-data/schema/<any(totals,prisoner,campaign,publications):name>.json")
def schema(name: str) -> Response:
    """The JSON Schema of one open-data document."""
    return public_response(lambda _f: _json(schemas.SCHEMAS[name]), "application/schema+json",
                           download=f"schema-{name}.json", disposition="inline")  # one of the four the route allows


@bp.get("/open-data/publications.json")
def publications() -> Response:
    """The chain: every release with its hash and its predecessor's."""

    def build(f: Figures) -> str:
        return _json(
            {
                "$schema": url_for("open_data.schema", name="publications", _external=True),
                "head": f.head.sha256 if f.head else None,
                "publications": [
                    {"seq": r.seq, "kind": r.kind, "start": r.start.isoformat(), "end": r.end.isoformat(),
                     "sha256": r.sha256, "previous": r.previous, "url": url_for("open_data.publication", seq=r.seq, _external=True)}
                    for r in f.releases
                ],
            }
        )

    return public_response(build, "application/json", download="publications.json", disposition="inline")


@bp.get("/open-data/publications/<int:seq>.json")
def publication(seq: int) -> Response:
    """A release's exact canonical bytes (their SHA-256 is the chain's link)."""

    def build(_f: Figures) -> bytes:
        data = published.release_bytes(db.session, seq)
        if data is None:
            abort(404)
        return data

    return public_response(build, "application/json", cache_control=IMMUTABLE_CACHE,
                           download=f"publication-{seq}.json", disposition="inline")  # an int; build 404s an unknown one


@bp.get("/badge/campaign/<tag>.svg")
@talisman(**EMBEDDABLE)
def campaign_badge(tag: str) -> Response:
    """'raised for 205: €12,340', for other sites to embed."""

    def build(f: Figures) -> str:
        campaign = _campaign_or_404(f, tag)
        return badges.badge(f"raised for {campaign.tag}", badges.amount_text(f, campaign.raised))

    return public_response(build, "image/svg+xml")


@bp.get("/badge/prisoner/<slug>.svg")
@talisman(**EMBEDDABLE)
def prisoner_badge(slug: str) -> Response:
    """'raised for <name>: €1,234', for other sites to embed."""

    def build(f: Figures) -> str:
        fund = _fund_or_404(f, slug)
        return badges.badge(f"raised for {fund.name}", badges.amount_text(f, fund.raised))

    return public_response(build, "image/svg+xml")
