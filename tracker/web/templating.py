"""What templates can call: locale-aware money and dates, the language switch.

May import: Flask, Flask-Babel, :mod:`tracker.money`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import Flask, g, request, url_for
from flask_babel import format_date, get_locale, refresh
from flask_babel import lazy_gettext as _l

from tracker import money
from tracker.i18n import LOCALES, current_locale


def _lang() -> str:
    return str(get_locale() or LOCALES[0])


def fmt_money(amount: Decimal | str | None, currency: str) -> str:
    """``€1,234.50`` / ``1 234,50 €`` for the page's language (amounts as published strings too)."""
    if amount is None:
        return "—"
    return money.format_money(Decimal(amount) if isinstance(amount, str) else amount, currency, _lang())


def fmt_amounts(amounts: dict[str, Decimal] | None) -> str:
    """Several currencies, each formatted, joined."""
    if not amounts:
        return "—"
    return " · ".join(fmt_money(amount, currency) for currency, amount in sorted(amounts.items()))


def fmt_date(day: date | None, style: str = "medium") -> str:
    """A day in the page's language."""
    return format_date(day, style) if day else ""


def fmt_month(day: date) -> str:
    """A month and year, e.g. "March 2025" / "март 2025 г."."""
    return format_date(day, "LLLL y")


CATEGORIES = {
    "lawyer": _l("Lawyers"),
    "parcels": _l("Parcels"),
    "commissary": _l("Prison shop"),
    "travel": _l("Travel for visits and hearings"),
    "medical": _l("Medical care"),
    "family": _l("Support for families"),
    "fines": _l("Fines and court costs"),
    "other": _l("Other"),
}


def category(name: str) -> str:
    """A spending category's label in the page's language."""
    return str(CATEGORIES.get(name, name))


def other_language_url() -> str | None:
    """The same page in the other language."""
    if not request.endpoint or not request.view_args or "lang" not in request.view_args:
        return None
    other = next(lang for lang in LOCALES if lang != request.view_args["lang"])
    return url_for(request.endpoint, **{**request.view_args, "lang": other})


def install(app: Flask) -> None:
    """Register the helpers as template globals."""

    @app.before_request
    def _locale_per_request() -> None:
        # Flask-Babel keeps the locale on the app context, which a request
        # shares when one was already pushed (CLI, tests): choose it afresh,
        # and give the pure layers' gettext the same locale for this request only.
        refresh()
        g.tracker_locale_token = current_locale.set(_lang())

    @app.teardown_request
    def _restore_locale(_exc: BaseException | None) -> None:
        token = g.pop("tracker_locale_token", None)
        if token is not None:
            current_locale.reset(token)

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        return {
            "fmt_money": fmt_money,
            "fmt_amounts": fmt_amounts,
            "fmt_date": fmt_date,
            "fmt_month": fmt_month,
            "other_language_url": other_language_url,
            "category": category,
            "get_locale": _lang,
            "LOCALES": LOCALES,
        }
