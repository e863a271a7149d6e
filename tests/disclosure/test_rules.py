"""Disclosure control, pure (RELIABILITY.md V2, V3, V6, V8)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tracker.disclosure import Cell, Member, Rules, decide, failing_atoms, round_down

R = Rules(k=5)


def cell(key: str, gifts: list[tuple[int, str, str]], currency: str = "EUR") -> Cell:
    return Cell(key, currency, [Member(d, donor, Decimal(a)) for d, donor, a in gifts])


def test_k_rule_and_rounding_down() -> None:
    small = cell("a", [(i, f"d{i}", "20.00") for i in range(4)])
    enough = cell("b", [(10 + i, f"e{i}", "20.00") for i in range(5)])
    result = decide([small, enough], R)
    assert result.published == {"b": Decimal("100.00")}
    assert "fewer than 5 distinct donors" in result.withheld["a"]
    assert round_down(Decimal("1234.56"), "EUR") == Decimal("1230.00")
    assert round_down(Decimal("15999"), "RUB") == Decimal("15000.00")


def test_one_big_gift_among_small_ones_is_withheld() -> None:
    """V6: one 2000 plus four 5 in a period."""
    c = cell("a", [(0, "big", "2000.00")] + [(i, f"s{i}", "5.00") for i in range(1, 5)])
    assert "more than 50%" in decide([c], Rules(k=5)).withheld["a"]
    c = cell("a", [(0, "big", "2000.00")] + [(i, f"s{i}", "5.00") for i in range(1, 9)])
    assert "more than 50%" in decide([c], Rules(k=5)).withheld["a"]


def test_same_donor_counts_once() -> None:
    c = cell("a", [(i, "same", "10.00") for i in range(10)])
    assert "distinct donors (1)" in decide([c], R).withheld["a"]


def test_a_prisoner_fed_by_two_campaigns_cannot_be_differenced() -> None:
    """Prisoners a and b share campaign 205 (12 donors); a also gets 3 gifts of campaign 212.
    Publishing a and b would reveal the 3 gifts as a - b: the atom rule withholds one."""
    shared = [(i, f"d{i}", "10.00") for i in range(12)]
    extra = [(100 + i, f"x{i}", "7.00") for i in range(3)]
    a = cell("a", shared + extra)
    b = cell("b", shared)
    result = decide([a, b], R)
    assert len(result.published) == 1
    groups = failing_atoms([c for c in (a, b) if c.key in result.published], 5)
    assert groups == []


def test_monthly_cells_already_out_protect_what_a_yearly_total_adds() -> None:
    january = cell("jan", [(i, f"d{i}", "10.00") for i in range(6)])
    withheld = [(50 + i, f"w{i}", "30.00") for i in range(2)]
    year = cell("year", [*[(i, f"d{i}", "10.00") for i in range(6)], *withheld])
    result = decide([year], R, fixed=[january])
    assert "year" in result.withheld
    year_ok = cell("year", [*[(i, f"d{i}", "10.00") for i in range(6)], *[(60 + i, f"w{i}", "30.00") for i in range(5)]])
    assert "year" in decide([year_ok], R, fixed=[january]).published


@given(
    gifts=st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 500)),
        min_size=1, max_size=120,
    ),
    k=st.integers(2, 6),
)
def test_every_published_group_covers_k_donors_and_the_result_is_stable(gifts: list[tuple[int, str, int]], k: int) -> None:
    """V2/V3/V8: whatever the gifts, published cells and atoms pass; deciding twice gives the same."""
    cells: dict[str, Cell] = {}
    for n, (donor, fund, amount) in enumerate(gifts):
        cells.setdefault(fund, Cell(fund, "EUR")).members.append(Member(n // 2, f"d{donor}", Decimal(amount)))
    rules = Rules(k=k)
    result = decide(list(cells.values()), rules)
    published = [cells[key] for key in result.published]
    for c in published:
        assert c.donors >= k
        assert c.biggest_share() <= c.total * rules.dominance
    assert failing_atoms(published, k) == []
    assert decide(list(cells.values()), rules).published == result.published
