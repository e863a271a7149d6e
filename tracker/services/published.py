"""The read side of publications: every public figure, computed from the chain only.

The public blueprint imports this module and nothing else of the books
(a test checks the import graph). It reads the ``publications`` table
(frozen canonical JSON) and never donations, statement lines, postings or
balances, so a page costs the same with a thousand donations or a million,
and public bytes change only when a release is cut.

Rules for the figures (ARCHITECTURE.md rule 8, methodology page):

- *raised* per fund and currency: the yearly statements' received where a
  year has one for the fund, plus the monthly cells of periods after it;
- *spent*: the same with the statements' spent and the monthly spending;
- *held*: the last statement's closing plus the monthly cells and spending
  since (fees and refunds of the open year appear with its statement);
- group totals add the funds (prisoners, campaign pools, the general fund)
  and the statements' "other funds" lines; campaign cells are not added, as
  their money is already in the funds they feed.

:func:`figures` caches the computed view per chain head; readers share it.

May import: models (publications only), :mod:`tracker.money`, the standard library.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tracker import money
from tracker.models import Publication

Amounts = dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class Head:
    """The newest release: what every cache and ETag keys on."""

    seq: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """One release in the chain, as listed publicly (dates only, no times)."""

    seq: int
    kind: str
    start: date
    end: date
    sha256: str
    previous: str | None


@dataclass
class Period:
    """One monthly release's figures for one fund or campaign."""

    start: date
    end: date
    received: Amounts = field(default_factory=dict)
    spent: Amounts = field(default_factory=dict)


@dataclass
class Spending:
    """Money the group paid out of a fund in one period, by category."""

    start: date
    end: date
    category: str
    currency: str
    amount: Decimal
    descriptions: list[str]


@dataclass
class FundFigures:
    """A prisoner's fund, a campaign pool or the general fund."""

    key: str
    kind: str
    slug: str
    name: str
    description: str = ""
    raised: Amounts = field(default_factory=dict)
    spent: Amounts = field(default_factory=dict)
    held: Amounts = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)
    spending: list[Spending] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)

    def by_category(self) -> dict[str, Amounts]:
        """Spending per category and currency, over all periods."""
        out: dict[str, Amounts] = defaultdict(dict)
        for item in self.spending:
            out[item.category][item.currency] = out[item.category].get(item.currency, money.ZERO) + item.amount
        return dict(sorted(out.items()))


@dataclass
class CampaignFigures:
    """A public campaign: its tag, window, goal, prisoners, money per period and events."""

    tag: str
    title: str
    description: str
    starts_on: date | None
    ends_on: date | None
    goal: Amounts
    prisoners: list[dict[str, Any]]
    allocation_notes: list[dict[str, str]]
    raised: Amounts = field(default_factory=dict)
    periods: list[Period] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    pool: FundFigures | None = None

    def progress(self) -> tuple[str, Decimal, Decimal, int] | None:
        """(currency, raised, goal, percent) towards the goal, if it has one."""
        if not self.goal:
            return None
        currency, goal = next(iter(self.goal.items()))
        raised = self.raised.get(currency, money.ZERO)
        percent = int(raised * 100 / goal) if goal > 0 else 0
        return currency, raised, goal, percent

    def shares(self) -> list[tuple[str, str]]:
        """(prisoner slug, percent of each gift, one decimal) in force at the last release."""
        weights = {w["prisoner"]: Decimal(w["weight"]) for w in self.prisoners}
        total = sum(weights.values(), money.ZERO)
        if total <= 0:
            return []
        return [(slug, str((w * 100 / total).quantize(Decimal("0.1")))) for slug, w in weights.items()]

    @property
    def active(self) -> bool:
        """Not ended before the last published period."""
        return self.ends_on is None or self.periods == [] or self.ends_on >= self.periods[-1].start


@dataclass
class Figures:
    """Everything the public sees, as of one chain head."""

    head: Head | None
    releases: list[ReleaseInfo]
    group: str = ""
    intro: dict[str, str] = field(default_factory=dict)
    payment_details: dict[str, str] = field(default_factory=dict)
    as_of: date | None = None
    base_currency: str = "EUR"
    rates: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: dict[str, Any] = field(default_factory=dict)
    funds: dict[str, FundFigures] = field(default_factory=dict)
    campaigns: dict[str, CampaignFigures] = field(default_factory=dict)
    raised: Amounts = field(default_factory=dict)
    spent: Amounts = field(default_factory=dict)
    held: Amounts = field(default_factory=dict)

    @property
    def prisoners(self) -> list[FundFigures]:
        """Public prisoner funds, by name."""
        return sorted((f for f in self.funds.values() if f.kind == "prisoner"), key=lambda f: f.name)

    def prisoner(self, slug: str) -> FundFigures | None:
        """One prisoner's fund by slug."""
        return self.funds.get(f"prisoner:{slug}")

    def in_base(self, amounts: Mapping[str, Decimal]) -> tuple[Decimal, list[str]] | None:
        """The sum in the base currency (rates as published) and the currencies left out."""
        if not amounts:
            return None
        total, missing = money.ZERO, []
        for currency, amount in amounts.items():
            if currency == self.base_currency:
                total += amount
            elif currency in self.rates:
                total += amount * Decimal(self.rates[currency]["rate"])
            else:
                missing.append(currency)
        return money.round_money(total, self.base_currency), missing


def _add(target: Amounts, currency: str, amount: Decimal) -> None:
    target[currency] = target.get(currency, money.ZERO) + amount


def _amounts(items: Iterable[tuple[str, Decimal]]) -> Amounts:
    out: Amounts = {}
    for currency, amount in items:
        _add(out, currency, amount)
    return dict(sorted(out.items()))


class _Builder:
    """Folds the releases, oldest first, into :class:`Figures`."""

    def __init__(self, figures: Figures) -> None:
        self.f = figures
        #: (fund key, year) -> {currency: statement line}
        self.statement: dict[tuple[str, int], dict[str, dict[str, str]]] = {}
        self.monthly: list[dict[str, Any]] = []
        self.latest: date | None = None
        #: (fund key, currency) whose held figure starts from a statement's closing
        self.closed: set[tuple[str, str]] = set()

    def add(self, body: dict[str, Any]) -> None:
        f = self.f
        end = date.fromisoformat(body["period"]["end"])
        if self.latest is None or end >= self.latest:
            # the directory (names, texts, rates) as of the latest period, not the latest cut
            self.latest = end
            f.group = body.get("group") or f.group
            f.intro = body.get("intro") or {}
            f.payment_details = body.get("payment_details") or {}
            f.base_currency = body.get("base_currency") or f.base_currency
            f.rates = body.get("rates") or {}
            f.rules = body.get("rules") or {}
            self._directory(body)
        if body["kind"] == "yearly":
            for line in body["funds"]:
                self.statement.setdefault((line["fund"], int(body["year"])), {})[line["currency"]] = line
        else:
            self.monthly.append(body)
            f.as_of = date.fromisoformat(body["period"]["end"])

    def _directory(self, body: dict[str, Any]) -> None:
        f = self.f
        for p in body.get("prisoners", []):
            key = f"prisoner:{p['slug']}"
            fund = f.funds.setdefault(key, FundFigures(key, "prisoner", p["slug"], p["name"]))
            fund.name, fund.description = p["name"], p.get("description") or ""
        for c in body.get("campaigns", []):
            goal = {cur: Decimal(v) for cur, v in (c.get("goal") or {}).items()}
            old = f.campaigns.get(c["tag"])
            campaign = CampaignFigures(
                c["tag"], c["title"], c.get("description") or "",
                date.fromisoformat(c["from"]) if c.get("from") else None,
                date.fromisoformat(c["until"]) if c.get("until") else None,
                goal, c.get("prisoners", []), c.get("allocation_notes", []),
            )
            if old is not None:
                campaign.raised, campaign.periods, campaign.events = old.raised, old.periods, old.events
            f.campaigns[c["tag"]] = campaign

    def _fund(self, key: str) -> FundFigures | None:
        if key in self.f.funds:
            return self.f.funds[key]
        kind, _, slug = key.partition(":")
        if kind == "pool" and slug in self.f.campaigns:
            fund = FundFigures(key, "pool", slug, self.f.campaigns[slug].title)
        elif key == "general":
            fund = FundFigures(key, "general", "general", "")
        elif key == "other":
            fund = FundFigures(key, "other", "other", "")
        else:
            return None  # a fund no longer public: its figures stay in the totals only
        self.f.funds[key] = fund
        return fund

    def finish(self) -> Figures:
        f = self.f
        #: (fund, currency) -> the years a statement covers, and the last of them
        years: dict[tuple[str, str], set[int]] = defaultdict(set)
        for (fund_key, year), lines in self.statement.items():
            for currency in lines:
                years[(fund_key, currency)].add(year)
        last = {k: max(v) for k, v in years.items()}
        totals_raised: list[tuple[str, Decimal]] = []
        totals_spent: list[tuple[str, Decimal]] = []
        held: dict[str, Amounts] = defaultdict(dict)
        raised: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        spent: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        for (fund_key, year), lines in sorted(self.statement.items(), key=lambda kv: kv[0][1]):
            for currency, line in lines.items():
                raised[fund_key].append((currency, Decimal(line["received"])))
                spent[fund_key].append((currency, Decimal(line["spent"])))
                held[fund_key][currency] = Decimal(line["closing"])
                self.closed.add((fund_key, currency))
            fund = self._fund(fund_key)
            if fund is not None:
                fund.statements += [{"year": year, **line} for _, line in sorted(lines.items())]
        for body in self.monthly:
            start, end = date.fromisoformat(body["period"]["start"]), date.fromisoformat(body["period"]["end"])
            periods: dict[str, Period] = {}
            for cell in body["cells"]:
                key, currency, value = cell["key"], cell["currency"], Decimal(cell["received"])
                if key.startswith("campaign:"):
                    campaign = f.campaigns.get(key.removeprefix("campaign:"))
                    if campaign is not None:
                        period = periods.setdefault(key, Period(start, end))
                        _add(period.received, currency, value)
                        _add(campaign.raised, currency, value)
                    continue
                periods.setdefault(key, Period(start, end)).received[currency] = value
                if start.year not in years.get((key, currency), ()):
                    raised[key].append((currency, value))
                if start.year > last.get((key, currency), 0):
                    _add(held[key], currency, value)
            for item in body["spending"]:
                key, currency, amount = item["fund"], item["currency"], Decimal(item["amount"])
                _add(periods.setdefault(key, Period(start, end)).spent, currency, amount)
                if start.year not in years.get((key, currency), ()):
                    spent[key].append((currency, amount))
                if start.year > last.get((key, currency), 0):
                    _add(held[key], currency, -amount)
                fund = self._fund(key)
                if fund is not None:
                    fund.spending.append(Spending(start, end, item["category"], currency, amount, item.get("descriptions", [])))
            for event in body["events"]:
                campaign = f.campaigns.get(event.get("campaign") or "")
                if campaign is not None:
                    campaign.events.append(event)
            for key, period in periods.items():
                if key.startswith("campaign:"):
                    campaign = f.campaigns.get(key.removeprefix("campaign:"))
                    if campaign is not None:
                        campaign.periods.append(period)
                elif (fund := self._fund(key)) is not None:
                    fund.periods.append(period)
        for key in set(raised) | set(spent) | set(held):
            totals_raised += raised.get(key, [])
            totals_spent += spent.get(key, [])
            # without a statement's closing, held is received minus spent since the first
            # release; money that came by transfer or conversion shows only in statements,
            # so a negative figure there would be misleading: it is left out until then
            held[key] = {c: a for c, a in sorted(held.get(key, {}).items()) if (key, c) in self.closed or a >= 0}
            fund = self._fund(key)
            if fund is not None:
                fund.raised = _amounts(raised.get(key, []))
                fund.spent = _amounts(spent.get(key, []))
                fund.held = held[key]
        f.raised, f.spent = _amounts(totals_raised), _amounts(totals_spent)
        f.held = _amounts((c, a) for amounts in held.values() for c, a in amounts.items())
        for campaign in f.campaigns.values():
            campaign.pool = f.funds.get(f"pool:{campaign.tag}")
        for fund in f.funds.values():
            if fund.kind == "prisoner":
                fund.campaigns = [
                    {"tag": c.tag, "title": c.title, "weight": w["weight"], "notes": c.allocation_notes}
                    for c in f.campaigns.values() for w in c.prisoners if w["prisoner"] == fund.slug
                ]
        return f


def head(session: Session) -> Head | None:
    """The newest release (one indexed row)."""
    row = session.execute(sa.select(Publication.seq, Publication.sha256).order_by(Publication.seq.desc()).limit(1)).first()
    return Head(row[0], row[1]) if row else None


def release_bytes(session: Session, seq: int) -> bytes | None:
    """The stored canonical bytes of one release, exactly as hashed."""
    body = session.scalar(sa.select(Publication.body).where(Publication.seq == seq))
    return body.encode("utf-8") if body is not None else None


def build(session: Session) -> Figures:
    """Compute the public figures from every release (oldest first)."""
    rows = session.execute(sa.select(Publication.seq, Publication.sha256, Publication.body).order_by(Publication.seq)).all()
    releases: list[ReleaseInfo] = []
    builder: _Builder | None = None
    for seq, sha, text in rows:
        body = json.loads(text)
        period = body["period"]
        releases.append(
            ReleaseInfo(seq, body["kind"], date.fromisoformat(period["start"]), date.fromisoformat(period["end"]), sha, body.get("previous"))
        )
        if builder is None:
            builder = _Builder(Figures(None, []))
        builder.add(body)
    figures = builder.finish() if builder else Figures(None, [])
    figures.releases = releases
    figures.head = Head(releases[-1].seq, releases[-1].sha256) if releases else None
    return figures


_cache: dict[tuple[str, Head | None], Figures] = {}
_lock = threading.Lock()


_heads: dict[str, tuple[float, Head | None]] = {}


def current_head(session: Session, max_age: float = 0) -> Head | None:
    """The newest release, looked up at most once per ``max_age`` seconds per database.

    A short age spares every request a query; a new release then shows up to
    ``max_age`` seconds later, still all at once (pages change only between releases).
    """
    url = str(session.get_bind().url)
    now = time.monotonic()
    seen = _heads.get(url)
    if seen is not None and now - seen[0] < max_age:
        return seen[1]
    found = head(session)
    _heads[url] = (now, found)
    return found


def fresh_head_sha(url: str, max_age: float) -> str | None:
    """The head's hash for a database URL if it was confirmed within ``max_age`` seconds, else None."""
    seen = _heads.get(url)
    if seen is None or time.monotonic() - seen[0] >= max_age:
        return None
    return seen[1].sha256 if seen[1] else "-"


def figures(session: Session, max_age: float = 0) -> Figures:
    """The figures for the current head, computed once per head per database."""
    current = current_head(session, max_age)
    key = (str(session.get_bind().url), current)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is None:
            cached = build(session)
            for old in [k for k in _cache if k[0] == key[0]]:
                del _cache[old]
            _cache[key] = cached
    return cached
