"""Group-wide settings the treasurer changes: publication rules and what pages say.

Stored as JSON in the ``settings`` table, each validated on the way in;
defaults come from the app config (``GROUP_NAME``) or from here. Public pages
never read this module: what they show is copied into the next publication
when it is cut, so public bytes change only at release boundaries.

May import: models, :mod:`tracker.money`, :mod:`tracker.disclosure`, services (audit).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from tracker import money
from tracker.disclosure import Rules
from tracker.errors import MoneyError, TrackerError
from tracker.i18n import gettext as _
from tracker.models import Setting
from tracker.services import audit


class SettingError(TrackerError):
    """A setting value that cannot be used."""


def _positive_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 2 or value > 1000:
        raise SettingError(_("must be a whole number from 2 to 1000"))
    return value


def _share(value: Any) -> str:
    try:
        share = Decimal(str(value))
    except InvalidOperation:
        raise SettingError(_("must be a decimal number such as 0.5")) from None
    if not Decimal("0.1") <= share <= Decimal("0.9"):
        raise SettingError(_("must be between 0.1 and 0.9"))
    return str(share)


def _currency(value: Any) -> str:
    try:
        return money.normalise_currency(str(value))
    except MoneyError:
        raise SettingError(_("must be an ISO 4217 currency code such as EUR")) from None


def _units(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise SettingError(_('must be an object such as {"EUR": "10", "RUB": "1000"}'))
    units = {}
    for currency, unit in value.items():
        try:
            step = Decimal(str(unit))
        except InvalidOperation:
            raise SettingError(_("the unit for %(currency)s is not a number", currency=currency)) from None
        if step <= 0:
            raise SettingError(_("the unit for %(currency)s must be positive", currency=currency))
        units[_currency(currency)] = str(step)
    return units


def _rates(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise SettingError(_('must be an object such as {"USD": {"rate": "0.92", "date": "2025-01-31"}}'))
    rates = {}
    for currency, item in value.items():
        if not isinstance(item, dict):
            raise SettingError(_("the rate for %(currency)s needs a rate and a date", currency=currency))
        try:
            rate = Decimal(str(item.get("rate")))
            on = date.fromisoformat(str(item.get("date")))
        except (InvalidOperation, ValueError):
            raise SettingError(_("the rate for %(currency)s needs a rate and a date", currency=currency)) from None
        if rate <= 0:
            raise SettingError(_("the rate for %(currency)s must be positive", currency=currency))
        rates[_currency(currency)] = {"rate": str(rate), "date": on.isoformat()}
    return rates


def _days(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 3650:
        raise SettingError(_("must be a whole number of days from 1 to 3650"))
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 5000:
        raise SettingError(_("must be text of at most 5000 characters"))
    return value.strip()


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": _text(value)}
    if not isinstance(value, dict) or not all(lang in ("en", "ru") for lang in value):
        raise SettingError(_('must be text, or an object such as {"en": "...", "ru": "..."}'))
    return {lang: _text(text) for lang, text in value.items()}


@dataclass(frozen=True)
class Spec:
    """One setting: its default and its validator."""

    default: Any
    clean: Callable[[Any], Any]
    help: str = ""


SPECS: dict[str, Spec] = {
    "k": Spec(5, _positive_int, "distinct donors a published cell needs"),
    "dominance": Spec("0.5", _share, "the largest share of a cell one donor may give"),
    "units": Spec({}, _units, "publication units per currency (others use the defaults)"),
    "base_currency": Spec("EUR", _currency, "the currency pages sum into"),
    "rates": Spec({}, _rates, "exchange rates into the base currency, with their date"),
    "group_name": Spec(None, _text, "the group's name on public pages"),
    "intro": Spec({}, _texts, "the introduction on the home page, per language"),
    "payment_details": Spec({}, _texts, "where to send money (PayPal address, bank account), per language"),
    "retention_days": Spec(
        365, _days, "days payment notes are kept after the payment and its import; 'tracker purge' then removes reviewed ones"
    ),
}


def get(session: Session, key: str, fallback: Any = None) -> Any:
    """The stored value, or the default (``fallback`` when the default is None)."""
    spec = SPECS[key]
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    return spec.default if spec.default is not None else fallback


def set_value(session: Session, key: str, raw: str) -> Any:
    """Validate and store one setting (``raw`` is JSON, or plain text); audited."""
    if key not in SPECS:
        raise SettingError(_("unknown setting %(key)s; known: %(known)s", key=key, known=", ".join(sorted(SPECS))))
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    try:
        clean = SPECS[key].clean(value)
    except SettingError as error:
        raise SettingError(f"{key}: {error}") from None
    row = session.get(Setting, key)
    before = row.value if row is not None else None
    if row is None:
        session.add(Setting(key=key, value=clean))
    else:
        row.value = clean
    audit.record(session, "setting", "setting", None, before={key: before}, after={key: clean})
    return clean


@dataclass(frozen=True)
class PublicSettings:
    """What a publication copies from the settings when it is cut."""

    rules: Rules
    group: str
    intro: dict[str, str] = field(default_factory=dict)
    payment_details: dict[str, str] = field(default_factory=dict)
    base_currency: str = "EUR"
    rates: dict[str, dict[str, str]] = field(default_factory=dict)


def public_settings(session: Session, group_fallback: str) -> PublicSettings:
    """The publication rules and page texts now in force."""
    units = {currency: Decimal(unit) for currency, unit in get(session, "units").items()}
    rules = Rules(int(get(session, "k")), Decimal(str(get(session, "dominance"))), units or None)
    return PublicSettings(
        rules=rules,
        group=get(session, "group_name", group_fallback),
        intro=dict(get(session, "intro")),
        payment_details=dict(get(session, "payment_details")),
        base_currency=get(session, "base_currency"),
        rates=dict(get(session, "rates")),
    )
