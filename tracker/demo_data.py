"""The demo data set, generated from a fixed seed: fictional people, real shapes.

A pure plan (no Flask, no database): accounts, prisoners, campaigns with
weights that change over time, two years of donations from a few thousand
pseudonymous donors in EUR, RUB, USD and GBP through PayPal, Stripe, bank and
cash, refunds, chargebacks, a pending payment, conversions, payouts, events
and disbursements. :mod:`tracker.services.demo` books it; tests recompute
expected totals from the same plan.

Every name here is invented.

May import: the standard library, :mod:`tracker.money`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from tracker import money

SEED = 205
START = date(2024, 11, 1)
END = date(2026, 10, 31)
DONORS = 1700
DONATIONS = 5600


@dataclass(frozen=True, slots=True)
class DemoPrisoner:
    """A fictional prisoner."""

    slug: str
    name: str
    public: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class DemoWeight:
    """A prisoner's weight in a campaign over a period (``until`` exclusive)."""

    slug: str
    weight: Decimal
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class DemoCampaign:
    """A fictional campaign."""

    tag: str
    title: str
    aliases: tuple[str, ...] = ()
    weights: tuple[DemoWeight, ...] = ()
    starts_on: date | None = None
    ends_on: date | None = None
    goal: tuple[str, Decimal] | None = None
    public: bool = True

    def weights_on(self, on: date) -> dict[str, Decimal]:
        """Prisoner slug -> weight in force on ``on`` (empty: the campaign's pool)."""
        return {
            w.slug: w.weight
            for w in self.weights
            if (w.since is None or w.since <= on) and (w.until is None or on < w.until)
        }


@dataclass(frozen=True, slots=True)
class DemoDonation:
    """One gift. ``campaign`` is a tag, ``None`` for the general fund, ``"?"`` for review."""

    ref: int
    account: str
    received_at: datetime
    currency: str
    gross: Decimal
    fee: Decimal
    donor: str
    campaign: str | None
    event: str | None = None


@dataclass(frozen=True, slots=True)
class DemoReturn:
    """A refund or chargeback of a donation (``dispute_fee`` charged on top)."""

    donation: int
    at: datetime
    amount: Decimal
    fee_returned: Decimal
    chargeback: bool = False
    dispute_fee: Decimal = money.ZERO


@dataclass(frozen=True, slots=True)
class DemoDisbursement:
    """Money paid out of a fund: ``fund`` is a prisoner slug or ``campaign:TAG``."""

    fund: str
    account: str
    currency: str
    amount: Decimal
    category: str
    description: str
    paid_on: date


@dataclass(frozen=True, slots=True)
class DemoConversion:
    """A currency conversion, of a donation's money (``donation``) or pro rata."""

    account: str
    at: datetime
    sold_currency: str
    sold: Decimal
    bought_currency: str
    bought: Decimal
    donation: int | None = None


@dataclass(frozen=True, slots=True)
class DemoTransfer:
    """A payout from one account to another."""

    source: str
    target: str
    currency: str
    amount: Decimal
    at: datetime


@dataclass(frozen=True, slots=True)
class DemoFundTransfer:
    """Money moved between funds, with a reason."""

    source: str
    target: str
    currency: str
    amount: Decimal
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DemoReviewItem:
    """Money a treasurer must classify (a pending payment, an opening balance)."""

    account: str
    currency: str
    amount: Decimal
    at: datetime
    kind: str
    description: str


@dataclass(frozen=True, slots=True)
class DemoEvent:
    """A solidarity evening."""

    name: str
    held_on: date
    place: str
    campaign: str | None


@dataclass
class DemoPlan:
    """Everything the demo books, in booking order."""

    accounts: list[tuple[str, str]] = field(default_factory=list)
    prisoners: list[DemoPrisoner] = field(default_factory=list)
    campaigns: list[DemoCampaign] = field(default_factory=list)
    events: list[DemoEvent] = field(default_factory=list)
    donations: list[DemoDonation] = field(default_factory=list)
    returns: list[DemoReturn] = field(default_factory=list)
    conversions: list[DemoConversion] = field(default_factory=list)
    transfers: list[DemoTransfer] = field(default_factory=list)
    fund_transfers: list[DemoFundTransfer] = field(default_factory=list)
    review_items: list[DemoReviewItem] = field(default_factory=list)
    disbursements: list[DemoDisbursement] = field(default_factory=list)

    def campaign(self, tag: str) -> DemoCampaign:
        """The campaign with this tag."""
        return next(c for c in self.campaigns if c.tag == tag)


PRISONERS = (
    DemoPrisoner("arkady-belov", "Arkady Belov", description="Case 205, Penza."),
    DemoPrisoner("dmitri-chernov", "Dmitri Chernov", description="Case 205, Penza."),
    DemoPrisoner("ilya-fomin", "Ilya Fomin", description="Case 205, Penza."),
    DemoPrisoner("maxim-golub", "Maxim Golub", description="Case 205, Penza."),
    DemoPrisoner("vasily-kedrov", "Vasily Kedrov", description="Case 205, Saint Petersburg."),
    DemoPrisoner("yegor-lisin", "Yegor Lisin", description="Case 205; released in 2026."),
    DemoPrisoner("lev-orlov", "Lev Orlov", description="Mass riots charge after a street protest."),
    DemoPrisoner("nina-petrova", "Nina Petrova", description="Charged for an anti-war post."),
    DemoPrisoner("timur-safin", "Timur Safin", description="Charged with spreading 'fakes'."),
    DemoPrisoner("zoya-r", "Zoya R.", public=False, description="Supported quietly at her request."),
)

ACCOUNTS = (
    ("PayPal", "paypal"),
    ("Stripe", "stripe"),
    ("Bank EUR", "bank"),
    ("Bank RUB", "bank"),
    ("Cash box", "cash"),
)

_CASE_205 = ("arkady-belov", "dmitri-chernov", "ilya-fomin", "maxim-golub", "vasily-kedrov", "yegor-lisin")
_ONE = Decimal(1)


def _campaigns() -> tuple[DemoCampaign, ...]:
    sentenced = date(2025, 7, 1)
    released = date(2026, 3, 1)
    weights_205: list[DemoWeight] = []
    for slug in _CASE_205:
        if slug == "arkady-belov":
            weights_205 += [DemoWeight(slug, _ONE, None, sentenced), DemoWeight(slug, Decimal(2), sentenced)]
        elif slug == "yegor-lisin":
            weights_205.append(DemoWeight(slug, _ONE, None, released))
        else:
            weights_205.append(DemoWeight(slug, _ONE))
    return (
        DemoCampaign(
            "205",
            "The Penza 'Network' case",
            ("penza", "пенза", "network case", "дело сети"),
            tuple(weights_205),
            goal=("EUR", Decimal(60000)),
        ),
        DemoCampaign("212", "Free Lev Orlov", ("orlov", "орлов"), (DemoWeight("lev-orlov", _ONE),)),
        DemoCampaign("280", "Support Nina Petrova", ("nina",), (DemoWeight("nina-petrova", _ONE),)),
        DemoCampaign(
            "207",
            "Timur Safin's defence",
            ("safin",),
            (DemoWeight("timur-safin", _ONE),),
            starts_on=date(2025, 4, 1),
            goal=("EUR", Decimal(8000)),
        ),
        DemoCampaign(
            "SW2025",
            "International week of solidarity with anarchist prisoners 2025",
            ("solidarity week",),
            (),
            starts_on=date(2025, 8, 23),
            ends_on=date(2025, 8, 30),
        ),
        DemoCampaign("books", "Prison library", ("книги", "library"), ()),
        DemoCampaign("zr", "Zoya", (), (DemoWeight("zoya-r", _ONE),), public=False),
    )


# currency -> [(account, share)]; fee = rate * gross + fixed, per account kind
_CHANNELS = {
    "EUR": (("PayPal", 45), ("Stripe", 25), ("Bank EUR", 25), ("Cash box", 5)),
    "RUB": (("Bank RUB", 85), ("Cash box", 15)),
    "USD": (("PayPal", 60), ("Stripe", 40)),
    "GBP": (("PayPal", 50), ("Stripe", 50)),
}
_CURRENCY_SHARE = (("EUR", 55), ("RUB", 30), ("USD", 9), ("GBP", 6))
_FEES = {
    "PayPal": (Decimal("0.029"), {"EUR": Decimal("0.35"), "USD": Decimal("0.49"), "GBP": Decimal("0.30")}),
    "Stripe": (Decimal("0.015"), {"EUR": Decimal("0.25"), "USD": Decimal("0.30"), "GBP": Decimal("0.20")}),
}
_AMOUNTS = {
    "EUR": (5, 10, 10, 15, 20, 20, 25, 30, 50, 50, 100, 250),
    "USD": (5, 10, 20, 25, 50, 100),
    "GBP": (5, 10, 20, 30, 50),
    "RUB": (200, 300, 500, 500, 1000, 1000, 1500, 2000, 3000, 5000),
}
#: Quarters with less net income than this leave the fund untouched (no overdrafts).
_SPEND_FLOOR = {"EUR": Decimal(100), "USD": Decimal(100), "GBP": Decimal(100), "RUB": Decimal(5000)}
_CAMPAIGN_SHARE = (("205", 40), ("212", 10), ("280", 10), ("207", 8), ("books", 4), ("zr", 2), (None, 26))


def fee_for(account: str, currency: str, gross: Decimal) -> Decimal:
    """What the provider keeps of a gift (PayPal and Stripe style; banks and cash: nothing)."""
    if account not in _FEES:
        return money.ZERO
    rate, fixed = _FEES[account]
    return money.round_money(gross * rate + fixed[currency], currency)


def _chance(rng: random.Random, per_mille: int) -> bool:
    """True with probability per_mille / 1000 (integers: no floats anywhere near money)."""
    return rng.randrange(1000) < per_mille


def _pick(rng: random.Random, table: tuple[tuple[object, int], ...]) -> object:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _moment(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(rng.randrange(24), rng.randrange(60), rng.randrange(60)), UTC)


def _amount(rng: random.Random, currency: str) -> Decimal:
    base = Decimal(rng.choice(_AMOUNTS[currency]))
    if currency != "RUB" and _chance(rng, 150):
        base += Decimal(rng.randrange(1, 100)) / 100
    return money.quantize(base, currency)


def _day(rng: random.Random) -> date:
    return START + timedelta(days=rng.randrange((END - START).days + 1))


def build_plan(seed: int = SEED) -> DemoPlan:
    """The whole demo, deterministic for a seed."""
    rng = random.Random(seed)
    plan = DemoPlan(accounts=list(ACCOUNTS), prisoners=list(PRISONERS), campaigns=list(_campaigns()))
    plan.events = [
        DemoEvent("Solidarity dinner", date(2025, 3, 15), "Social centre", "205"),
        DemoEvent("Benefit concert", date(2026, 2, 20), "Community hall", "212"),
    ]
    _donations(rng, plan)
    _returns(rng, plan)
    _money_moves(rng, plan)
    _disbursements(plan)
    return plan


def _donations(rng: random.Random, plan: DemoPlan) -> None:
    donors = []
    for n in range(DONORS):
        currency = str(_pick(rng, _CURRENCY_SHARE))
        donors.append(
            {
                "id": f"donor-{n:04d}@example.invalid",
                "currency": currency,
                "account": str(_pick(rng, _CHANNELS[currency])),
                "campaign": _pick(rng, _CAMPAIGN_SHARE),
            }
        )
    popularity = [10**6 // (i + 1) for i in range(DONORS)]
    order = list(range(DONORS)) + rng.choices(range(DONORS), weights=popularity, k=DONATIONS - DONORS)
    week = plan.campaign("SW2025")
    assert week.starts_on and week.ends_on
    starts_207 = plan.campaign("207").starts_on
    assert starts_207
    review_left = 12
    raw = []
    for n in order:
        donor = donors[n]
        day = _day(rng)
        if _chance(rng, 30):
            day = week.starts_on + timedelta(days=rng.randrange(8))
        campaign = donor["campaign"] if _chance(rng, 850) else _pick(rng, _CAMPAIGN_SHARE)
        if week.starts_on <= day <= week.ends_on and _chance(rng, 600):
            campaign = "SW2025"
        if campaign == "207" and day < starts_207:
            campaign = None
        if review_left and _chance(rng, 4):
            campaign, review_left = "?", review_left - 1
        currency, account = donor["currency"], donor["account"]
        if _chance(rng, 50):
            currency = str(_pick(rng, _CURRENCY_SHARE))
            account = str(_pick(rng, _CHANNELS[currency]))
        gross = _amount(rng, currency)
        raw.append((_moment(rng, day), account, currency, gross, donor["id"], campaign))
    for event, gross, cur in zip(plan.events, (Decimal("340.50"), Decimal(18400)), ("EUR", "RUB"), strict=True):
        raw.append((datetime.combine(event.held_on, time(22, 0), UTC), "Cash box", cur, gross, None, event.campaign, event.name))
    raw.sort(key=lambda r: (r[0], r[4] or ""))
    for ref, row in enumerate(raw, start=1):
        at, account, currency, gross, donor, campaign, *event = row
        plan.donations.append(
            DemoDonation(
                ref, account, at, currency, gross, fee_for(account, currency, gross), donor or "", campaign, event[0] if event else None
            )
        )


def _returns(rng: random.Random, plan: DemoPlan) -> None:
    card = [d for d in plan.donations if d.account in ("PayPal", "Stripe") and d.received_at.date() < END - timedelta(days=30)]
    chosen = rng.sample(card, k=70)
    for d in chosen[:68]:
        at = d.received_at + timedelta(days=rng.randrange(1, 20), hours=rng.randrange(24))
        if _chance(rng, 750):
            amount = d.gross
            fee_back = d.fee - _FEES[d.account][1][d.currency] if d.account == "PayPal" else money.ZERO
        else:
            amount = money.round_money(d.gross / 2, d.currency)
            fee_back = (
                money.round_money(amount * _FEES["PayPal"][0], d.currency) if d.account == "PayPal" else money.ZERO
            )
        plan.returns.append(DemoReturn(d.ref, at, amount, max(fee_back, money.ZERO)))
    for d in chosen[68:]:
        at = d.received_at + timedelta(days=25)
        plan.returns.append(DemoReturn(d.ref, at, d.gross, money.ZERO, chargeback=True, dispute_fee=Decimal("15.00")))


def _money_moves(rng: random.Random, plan: DemoPlan) -> None:
    usd = next(d for d in plan.donations if d.account == "PayPal" and d.currency == "USD" and d.gross >= 20 and d.campaign not in (None, "?") and d.ref not in {r.donation for r in plan.returns})
    sold = usd.gross - usd.fee
    plan.conversions.append(
        DemoConversion("PayPal", usd.received_at + timedelta(minutes=5), "USD", sold, "EUR", money.round_money(sold * Decimal("0.92"), "EUR"), usd.ref)
    )
    plan.conversions.append(
        DemoConversion("PayPal", datetime(2026, 6, 30, 12, 0, tzinfo=UTC), "GBP", Decimal("200.00"), "EUR", Decimal("234.00"))
    )
    # Monthly payouts: most of PayPal's EUR intake moves to the bank.
    intake: dict[tuple[int, int], Decimal] = defaultdict(lambda: money.ZERO)
    for d in plan.donations:
        if d.account == "PayPal" and d.currency == "EUR":
            intake[(d.received_at.year, d.received_at.month)] += d.gross - d.fee
    for (year, month), net in sorted(intake.items()):
        paid = datetime(year + month // 12, month % 12 + 1, 2, 9, 0, tzinfo=UTC)
        if paid.date() <= END:
            amount = money.round_money(net * Decimal("0.7"), "EUR")
            plan.transfers.append(DemoTransfer("PayPal", "Bank EUR", "EUR", amount, paid))
    plan.fund_transfers.append(
        DemoFundTransfer("general", "lev-orlov", "EUR", Decimal(500), datetime(2025, 9, 15, 10, 0, tzinfo=UTC), "Court fees ahead of the appeal")
    )
    plan.review_items += [
        DemoReviewItem("Cash box", "EUR", Decimal("85.00"), datetime.combine(START, time(0, 0), UTC), "opening_balance", "cash counted when the books started"),
        DemoReviewItem("PayPal", "EUR", Decimal("40.00"), datetime(2026, 10, 30, 18, 30, tzinfo=UTC), "unclassified", "pending eCheck payment"),
    ]
    del rng


def net_shares(plan: DemoPlan) -> dict[tuple[str, str], Decimal]:
    """Each fund's net income per currency as the demo books it (fund key, currency)."""
    campaigns = {c.tag: c for c in plan.campaigns}
    shares: dict[tuple[str, str], Decimal] = defaultdict(lambda: money.ZERO)
    for d in plan.donations:
        for fund, part in fund_split(campaigns, d.campaign, d.received_at.date(), d.gross - d.fee, d.currency).items():
            shares[(fund, d.currency)] += part
    return shares


def fund_split(
    campaigns: dict[str, DemoCampaign], tag: str | None, on: date, amount: Decimal, currency: str
) -> dict[str, Decimal]:
    """How the demo's rules split ``amount`` over fund keys (equal keys order as the ledger's)."""
    if tag is None:
        return {"general": amount}
    if tag == "?":
        return {"review": amount}
    weights = campaigns[tag].weights_on(on)
    if not weights:
        return {f"campaign:{tag}": amount}
    return money.split(amount, weights, currency)


def _disbursements(plan: DemoPlan) -> None:
    """Spend about half of what each fund took in, by quarter, so no fund runs dry."""
    campaigns = {c.tag: c for c in plan.campaigns}
    quarterly: dict[tuple[str, str, int], Decimal] = defaultdict(lambda: money.ZERO)
    for d in plan.donations:
        quarter = (d.received_at.year * 12 + d.received_at.month - 1) // 3
        for fund, part in fund_split(campaigns, d.campaign, d.received_at.date(), d.gross - d.fee, d.currency).items():
            quarterly[(fund, d.currency, quarter)] += part
    for (fund, currency, quarter), net in sorted(quarterly.items()):
        if fund in ("general", "review") or net < _SPEND_FLOOR[currency]:
            continue
        year, month = divmod(quarter * 3 + 3, 12)
        paid_on = date(year, month + 1, 10)
        if paid_on > END:
            continue
        account = "Bank RUB" if currency == "RUB" else "Bank EUR" if currency == "EUR" else "PayPal"
        if fund.startswith("campaign:"):
            category, description = "other", "Books and magazines sent to prison libraries"
        elif currency == "RUB":
            category, description = "parcels", "Food and clothing parcels"
        else:
            category, description = "lawyer", "Defence lawyer's fees"
        amount = (net / 2).quantize(money.quantum(currency), rounding=ROUND_HALF_EVEN)
        if amount > 0:
            plan.disbursements.append(DemoDisbursement(fund, account, currency, amount, category, description, paid_on))
