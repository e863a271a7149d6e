"""Statistical disclosure control for published figures (ARCHITECTURE.md rule 8).

Pure: cells come in as donation sets, decisions go out. A *cell* is a sum of
gifts (to one fund, in one currency, over one period). A *member* is one
donation's part in that cell, with the donation's donor key.

A cell may be published only if

1. it covers at least ``k`` distinct donors;
2. no donor gives more than ``dominance`` of its sum (the p% rule);
3. rounded down to the currency's publication unit, it is not zero; and
4. the **atom rule** holds across everything ever published plus the cells
   being cut: group donations by the set of published cells that contain
   them; every group holds at least ``k`` distinct donors. This stops
   subtraction across funds, campaigns, months and releases (a campaign split
   over several prisoners, a prisoner fed by two campaigns, a yearly total
   minus the monthly cells already out).

:func:`decide` applies 1-3 per cell, then withholds cells that break 4, one at
a time (the one with the fewest donors among those in the smallest failing
group, ties by key), until every group passes. Published cells (``fixed``)
are never withdrawn: only candidates are.

May import: the standard library, :mod:`tracker.money`, :mod:`tracker.i18n`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from tracker import money
from tracker.i18n import gettext as _

#: Default publication units (major units) per currency; others use 10 * 10**exponent / 100.
DEFAULT_UNITS = {"EUR": Decimal(10), "USD": Decimal(10), "GBP": Decimal(10), "CHF": Decimal(10), "RUB": Decimal(1000), "JPY": Decimal(1000), "KWD": Decimal(5)}


def unit_for(currency: str, units: Mapping[str, Decimal] | None = None) -> Decimal:
    """The step published amounts are rounded down to."""
    if units and currency in units:
        return units[currency]
    return DEFAULT_UNITS.get(currency, Decimal(10))


def round_down(amount: Decimal, currency: str, units: Mapping[str, Decimal] | None = None) -> Decimal:
    """``amount`` rounded down to a multiple of the publication unit, at the currency's scale."""
    step = unit_for(currency, units)
    whole = (amount / step).to_integral_value(rounding=ROUND_DOWN) * step
    return money.quantize(whole.quantize(money.quantum(currency)), currency)


@dataclass(frozen=True, slots=True)
class Member:
    """One donation's part in a cell."""

    donation: int
    donor: str
    amount: Decimal


@dataclass
class Cell:
    """A candidate or published sum of gifts."""

    key: Hashable
    currency: str
    members: list[Member] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """The exact sum."""
        return money.total(m.amount for m in self.members)

    @property
    def donors(self) -> int:
        """Distinct donors in the cell."""
        return len({m.donor for m in self.members})

    def biggest_share(self) -> Decimal:
        """The largest sum one donor gives to this cell."""
        per: dict[str, Decimal] = defaultdict(Decimal)
        for m in self.members:
            per[m.donor] += m.amount
        return max(per.values(), default=Decimal(0))


@dataclass(frozen=True, slots=True)
class Rules:
    """The publication settings."""

    k: int = 5
    dominance: Decimal = Decimal("0.5")
    units: Mapping[str, Decimal] | None = None


@dataclass
class Decision:
    """Which candidates are published (with their rounded values) and why others are not."""

    published: dict[Hashable, Decimal] = field(default_factory=dict)
    withheld: dict[Hashable, str] = field(default_factory=dict)


def cell_reason(cell: Cell, rules: Rules) -> str | None:
    """Why a cell cannot be published on its own (rules 1-3), or None."""
    if cell.donors < rules.k:
        return _("fewer than %(k)d distinct donors (%(donors)d)", k=rules.k, donors=cell.donors)
    total = cell.total
    if total <= 0:
        return _("nothing to publish")
    if cell.biggest_share() > total * rules.dominance:
        return _("one donor gives more than %(share)s%% of it", share=f"{rules.dominance * 100:.0f}")
    if round_down(total, cell.currency, rules.units) == 0:
        return _("less than one publication unit")
    return None


def failing_atoms(cells: Iterable[Cell], k: int) -> list[tuple[frozenset[Hashable], int]]:
    """Groups of donations sharing one set of cells, with fewer than ``k`` donors: (cells, donors)."""
    signature: dict[int, set[Hashable]] = defaultdict(set)
    donor_of: dict[int, str] = {}
    for cell in cells:
        for m in cell.members:
            signature[m.donation].add(cell.key)
            donor_of[m.donation] = m.donor
    groups: dict[frozenset[Hashable], set[str]] = defaultdict(set)
    for donation, keys in signature.items():
        groups[frozenset(keys)].add(donor_of[donation])
    return sorted(((keys, len(donors)) for keys, donors in groups.items() if len(donors) < k), key=lambda g: (g[1], sorted(map(str, g[0]))))


def decide(candidates: Iterable[Cell], rules: Rules, fixed: Iterable[Cell] = ()) -> Decision:
    """Decide which candidate cells can be published next to the ``fixed`` ones."""
    decision = Decision()
    live: dict[Hashable, Cell] = {}
    for cell in candidates:
        reason = cell_reason(cell, rules)
        if reason:
            decision.withheld[cell.key] = reason
        else:
            live[cell.key] = cell
    fixed = list(fixed)
    fixed_sig: dict[int, set[Hashable]] = defaultdict(set)
    for cell in fixed:
        for m in cell.members:
            fixed_sig[m.donation].add(cell.key)
    while True:
        victim = None
        for keys, donors in failing_atoms([*fixed, *live.values()], rules.k):
            if keys & live.keys():
                involved = [live[key] for key in keys if key in live]
            else:
                # a published group the candidates split: blame the candidates taking from it
                involved = [c for c in live.values() if any(frozenset(fixed_sig.get(m.donation, ())) == keys for m in c.members)]
            if involved:
                victim = min(involved, key=lambda c: (c.donors, str(c.key)))
                decision.withheld[victim.key] = _("would leave a group of %(donors)d donors that subtraction could single out", donors=donors)
                break
        if victim is None:
            break
        del live[victim.key]
    for key, cell in live.items():
        decision.published[key] = round_down(cell.total, cell.currency, rules.units)
    return decision
