"""Server-rendered SVG charts (pygal) of published figures, with the same data as a table.

The SVG is inlined, works without JavaScript and is deterministic: pygal's
random chart id, its generation-date comment and its tooltip script are
replaced or removed, so a page's bytes depend on the release only.

May import: pygal, Flask-Babel, :mod:`tracker.services.published`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pygal
from babel.dates import format_date
from flask_babel import gettext
from markupsafe import Markup
from pygal.style import Style

from tracker import money
from tracker.services.published import CampaignFigures, FundFigures, Period

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2328",
    foreground_strong="#1f2328",
    foreground_subtle="#57606a",
    colors=("#1a7f37", "#cf222e"),
    font_family="system-ui, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
)

_ID = re.compile(r"chart-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


@dataclass
class Chart:
    """An inline SVG chart and the table behind it."""

    svg: Markup
    title: str
    currency: str
    rows: list[tuple[str, Decimal | None, Decimal | None]]


def _main_currency(periods: list[Period]) -> str | None:
    totals: dict[str, Decimal] = {}
    for p in periods:
        for currency, amount in p.received.items():
            totals[currency] = totals.get(currency, money.ZERO) + amount
    return max(sorted(totals), key=lambda c: totals[c]) if totals else None


def _render(name: str, title: str, currency: str, periods: list[Period], lang: str, with_spent: bool) -> Chart:
    labels = [format_date(p.start, "MMM yy", locale=lang) for p in periods]
    received = [p.received.get(currency) for p in periods]
    spent = [p.spent.get(currency) for p in periods]
    chart = pygal.Bar(
        style=STYLE,
        js=[],
        disable_xml_declaration=True,
        width=720,
        height=320,
        title=title,
        x_label_rotation=-45,
        legend_at_bottom=True,
        show_minor_x_labels=True,
        print_values=False,
        value_formatter=lambda v: money.format_money(Decimal(str(v)), currency, lang),
    )
    chart.x_labels = labels
    chart.add(gettext("Received"), [float(v) if v is not None else None for v in received])  # noqa: money-ok (chart geometry only)
    if with_spent:
        chart.add(gettext("Spent"), [float(v) if v is not None else None for v in spent])  # noqa: money-ok
    svg = chart.render(is_unicode=True)
    svg = _SCRIPT.sub("", _COMMENT.sub("", _ID.sub(f"chart-{name}", svg)))
    svg = _UUID.sub(name, svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-labelledby="chart-{name}-title" ', 1)
    svg = svg.replace("<title>", f'<title id="chart-{name}-title">', 1)
    rows = [(label, r, s if with_spent else None) for label, r, s in zip(labels, received, spent, strict=True)]
    return Chart(Markup(svg), title, currency, rows)  # noqa: S704 - pygal escapes labels and titles


def fund_chart(fund: FundFigures, lang: str) -> Chart | None:
    """Received and spent per published month, in the fund's main currency."""
    currency = _main_currency(fund.periods)
    if currency is None:
        return None
    title = gettext("Received and spent per month (%(currency)s)", currency=currency)
    return _render(f"fund-{fund.slug}", title, currency, fund.periods, lang, with_spent=True)


def campaign_chart(campaign: CampaignFigures, lang: str) -> Chart | None:
    """Received per published month, in the campaign's main currency."""
    currency = _main_currency(campaign.periods)
    if currency is None:
        return None
    title = gettext("Received per month (%(currency)s)", currency=currency)
    return _render(f"campaign-{campaign.tag}", title, currency, campaign.periods, lang, with_spent=False)
