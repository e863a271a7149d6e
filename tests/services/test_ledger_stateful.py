"""RELIABILITY.md L2, ledger steps: a stateful model of the ledger (our VOPR).

Random sequences of donations (three currencies, five destinations), partial
and full refunds, chargebacks with dispute fees, disbursements, fund
transfers, conversions and injected faults inside a unit of work. After every
step ``check`` must hold and every fund's balance must equal a pure-Python
reference model; a fault must leave the database exactly as it was.

Run longer with ``HYPOTHESIS_PROFILE=nightly``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from tests.conftest import database_for, make_app
from tests.factories import canonical_dump
from tracker import money

NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"
EXAMPLES = 5000 if NIGHTLY else int(os.environ.get("LEDGER_EXAMPLES", "40"))
STEPS = 50
CURRENCIES = ("EUR", "JPY", "KWD")
START = datetime(2025, 1, 1, tzinfo=UTC)


class Boom(Exception):
    """The injected fault."""


class LedgerMachine(RuleBasedStateMachine):
    database: Any = None
    tmp: Any = None

    donations = Bundle("donations")

    def __init__(self) -> None:
        super().__init__()
        self.database.reset()
        self.app = make_app(self.database.fresh_url(self.tmp), self.tmp)
        self.ctx = self.app.app_context()
        self.ctx.push()
        from tracker.extensions import db

        self.session = db.session
        self.clock = START
        # reference model: fund key -> currency -> holding (positive)
        self.held: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        self.gifts: dict[int, dict[str, Any]] = {}

    def teardown(self) -> None:
        from tracker.extensions import db

        db.session.remove()
        db.engine.dispose()
        self.ctx.pop()

    def tick(self) -> datetime:
        self.clock += timedelta(hours=7)
        return self.clock

    @initialize()
    def setup(self) -> None:
        from tracker.services import unit_of_work
        from tracker.services.accounts import create_account
        from tracker.services.campaigns import PrisonerShare, create_campaign, create_prisoner, pool_fund

        with unit_of_work() as s:
            self.account = create_account(s, "PayPal", "paypal")
            for slug in ("a", "b", "c"):
                create_prisoner(s, slug, slug.upper())
            self.campaigns = {
                "X": create_campaign(s, "X", "X", prisoners=[PrisonerShare("a", Decimal(1)), PrisonerShare("b", Decimal(2))]),
                "Y": create_campaign(s, "Y", "Y", prisoners=[PrisonerShare("c", Decimal("1.5"))]),
                "Z": create_campaign(s, "Z", "Z"),
            }
            pool_fund(s, self.campaigns["Z"])
        self.weights = {"X": {"a": Decimal(1), "b": Decimal(2)}, "Y": {"c": Decimal("1.5")}, "Z": {"pool:Z": Decimal(1)}, "general": {"general": Decimal(1)}, "review": {"review": Decimal(1)}}

    # --- helpers ---------------------------------------------------------------

    def fund(self, key: str) -> Any:
        import sqlalchemy as sa

        from tracker.models import Fund, Prisoner
        from tracker.services import ledger

        if key == "general":
            return ledger.general_fund(self.session)
        if key == "review":
            return ledger.review_fund(self.session)
        if key.startswith("pool:"):
            return self.session.scalar(sa.select(Fund).where(Fund.campaign_id == self.campaigns[key[5:]].id))
        return self.session.scalar(sa.select(Fund).join(Prisoner, Prisoner.id == Fund.prisoner_id).where(Prisoner.slug == key))

    def model_split(self, amount: Decimal, weights: dict[str, Decimal], cur: str) -> dict[str, Decimal]:
        # The ledger breaks ties by fund ledger id; map keys to those ids.
        ids = {k: self.fund(k).ledger_account_id for k in weights}
        parts = money.split(amount, {ids[k]: w for k, w in weights.items()}, cur)
        self.session.rollback()
        return {k: parts[ids[k]] for k in weights}

    # --- rules -----------------------------------------------------------------

    @rule(
        target=donations,
        where=st.sampled_from(["X", "Y", "Z", "general", "review"]),
        cur=st.sampled_from(CURRENCIES),
        units=st.integers(min_value=1, max_value=10**7),
        fee_permille=st.integers(min_value=0, max_value=400),
    )
    def donate(self, where: str, cur: str, units: int, fee_permille: int) -> int:
        from tracker.models import Destination
        from tracker.services import unit_of_work
        from tracker.services.donations import NewDonation, insert_donations

        gross = money.from_minor(units, cur)
        fee = money.from_minor(units * fee_permille // 1000, cur)
        destination = Destination.CAMPAIGN if where in self.campaigns else Destination(where)
        with unit_of_work() as s:
            (donation_id,) = insert_donations(
                s,
                [NewDonation(account=self.account, received_at=self.tick(), currency=cur, gross=gross, fee=fee, destination=destination, campaign_id=self.campaigns[where].id if where in self.campaigns else None)],
            )
        weights = self.weights[where]
        g = self.model_split(gross, weights, cur)
        n = self.model_split(gross - fee, weights, cur)
        for k in weights:
            self.held[k][cur] += n[k]
        self.gifts[donation_id] = {"cur": cur, "gross": gross, "fee": fee, "g": g, "f": {k: g[k] - n[k] for k in weights}, "back": Decimal(0), "fee_back": Decimal(0), "w": weights}
        return donation_id

    @rule(donation=donations, share=st.integers(min_value=1, max_value=100), fee_share=st.integers(min_value=0, max_value=100), chargeback=st.booleans())
    def refund(self, donation: int, share: int, fee_share: int, chargeback: bool) -> None:
        from tracker.models import Donation
        from tracker.services import unit_of_work
        from tracker.services.donations import refund

        gift = self.gifts[donation]
        cur = gift["cur"]
        left = gift["gross"] - gift["back"]
        if left == 0:
            return
        amount = max(money.from_minor(money.to_minor(left, cur) * share // 100, cur), money.quantum(cur))
        fee_left = gift["fee"] - gift["fee_back"]
        fee_amount = money.from_minor(money.to_minor(fee_left, cur) * fee_share // 100, cur)
        with unit_of_work() as s:
            refund(s, s.get(Donation, donation), amount=amount, fee_returned=fee_amount, occurred_at=self.tick(), chargeback=chargeback)
        g_parts = {k: v for k, v in gift["g"].items() if v > 0} or gift["w"]
        n_parts = {k: gift["g"][k] - gift["f"][k] for k in gift["g"] if gift["g"][k] - gift["f"][k] > 0} or g_parts
        before, after = gift["back"], gift["back"] + amount
        net_before, net_after = before - gift["fee_back"], after - gift["fee_back"] - fee_amount
        step = self._cumulative(before, after, g_parts, cur)
        net_step = self._cumulative(net_before, net_after, n_parts, cur)
        for k in set(step) | set(net_step):
            # a fund gives back its gross part and gets back its fee part: net
            self.held[k][cur] -= net_step.get(k, Decimal(0))
        gift["back"], gift["fee_back"] = after, gift["fee_back"] + fee_amount

    def _cumulative(self, before: Decimal, after: Decimal, weights: dict[str, Decimal], cur: str) -> dict[str, Decimal]:
        now = self.model_split(after, weights, cur) if after else dict.fromkeys(weights, Decimal(0))
        then = self.model_split(before, weights, cur) if before else dict.fromkeys(weights, Decimal(0))
        return {k: now[k] - then[k] for k in weights}

    @rule(donation=donations, units=st.integers(min_value=1, max_value=5000))
    def dispute_fee(self, donation: int, units: int) -> None:
        from tracker.models import Donation
        from tracker.services import booking, unit_of_work

        gift = self.gifts[donation]
        cur = gift["cur"]
        amount = money.from_minor(units, cur)
        with unit_of_work() as s:
            booking.book_dispute_fee(s, account=s.merge(self.account), currency=cur, amount=amount, occurred_at=self.tick(), donation=s.get(Donation, donation))
        g_parts = {k: v for k, v in gift["g"].items() if v > 0} or gift["w"]
        for k, v in self.model_split(amount, g_parts, cur).items():
            self.held[k][cur] -= v

    @rule(key=st.sampled_from(["a", "b", "c", "pool:Z", "general"]), cur=st.sampled_from(CURRENCIES), share=st.integers(min_value=1, max_value=100))
    def disburse(self, key: str, cur: str, share: int) -> None:
        from tracker.services import unit_of_work
        from tracker.services.disbursements import create_disbursement

        held = self.held[key][cur]
        amount = money.from_minor(money.to_minor(held, cur) * share // 100, cur)
        if amount <= 0:
            return
        with unit_of_work() as s:
            create_disbursement(s, fund=s.merge(self.fund(key)), account=s.merge(self.account), currency=cur, amount=amount, category="lawyer", public_description="fees", paid_on=self.tick().date())
        self.held[key][cur] -= amount

    @rule(source=st.sampled_from(["a", "b", "c", "general"]), to_fund=st.sampled_from(["a", "b", "c", "general"]), cur=st.sampled_from(CURRENCIES), share=st.integers(min_value=1, max_value=100))
    def move_between_funds(self, source: str, to_fund: str, cur: str, share: int) -> None:
        from tracker.services import booking, unit_of_work

        amount = money.from_minor(money.to_minor(self.held[source][cur], cur) * share // 100, cur)
        if source == to_fund or amount <= 0:
            return
        with unit_of_work() as s:
            booking.book_fund_transfer(s, from_fund=s.merge(self.fund(source)), to_fund=s.merge(self.fund(to_fund)), currency=cur, amount=amount, occurred_at=self.tick(), reason="move")
        self.held[source][cur] -= amount
        self.held[to_fund][cur] += amount

    @rule(donation=donations, bought_units=st.integers(min_value=1, max_value=10**6), to=st.sampled_from(CURRENCIES))
    def convert(self, donation: int, bought_units: int, to: str) -> None:
        from tracker.models import Donation
        from tracker.services import booking, unit_of_work

        gift = self.gifts[donation]
        cur = gift["cur"]
        if to == cur or gift["back"] or gift["fee_back"]:
            return
        sold = gift["gross"] - gift["fee"]
        if sold <= 0:
            return
        bought = money.from_minor(bought_units, to)
        with unit_of_work() as s:
            booking.book_conversion(s, account=s.merge(self.account), sold_currency=cur, sold=sold, bought_currency=to, bought=bought, occurred_at=self.tick(), donation=s.get(Donation, donation))
        shares = {k: gift["g"][k] - gift["f"][k] for k in gift["g"]}
        shares = {k: v for k, v in shares.items() if v > 0} or {k: v for k, v in gift["g"].items() if v > 0} or gift["w"]
        for k, v in self.model_split(sold, shares, cur).items():
            self.held[k][cur] -= v
        for k, v in self.model_split(bought, shares, to).items():
            self.held[k][to] += v

    @rule(donation=donations, where=st.sampled_from(["X", "Y", "Z", "general"]))
    def settle(self, donation: int, where: str) -> None:
        """A treasurer moves a donation (from review or elsewhere): a reallocation entry."""
        from tracker.models import Destination, Donation
        from tracker.records import TagSource
        from tracker.services import unit_of_work
        from tracker.services.allocation import Move, reallocate

        gift = self.gifts[donation]
        cur = gift["cur"]
        destination = Destination.CAMPAIGN if where in self.campaigns else Destination.GENERAL
        with unit_of_work() as s:
            reallocate(s, s.get(Donation, donation), Move(destination, self.campaigns[where].id if where in self.campaigns else None, TagSource.MANUAL, {}))
        old_g = {k: v for k, v in gift["g"].items() if v > 0} or gift["w"]
        old_n = {k: gift["g"][k] - gift["f"][k] for k in gift["g"] if gift["g"][k] - gift["f"][k] > 0} or old_g
        back_g = self._cumulative(Decimal(0), gift["back"], old_g, cur)
        back_n = self._cumulative(Decimal(0), gift["back"] - gift["fee_back"], old_n, cur)
        weights = self.weights[where]
        old_keys = set(gift["g"])
        if set(weights) == old_keys and all(weights[k] * gift["w"][min(old_keys)] == gift["w"][k] * weights[min(old_keys)] for k in old_keys):
            return
        left_g = {k: gift["g"][k] - back_g.get(k, Decimal(0)) for k in gift["g"]}
        left_n = {k: gift["g"][k] - gift["f"][k] - back_n.get(k, Decimal(0)) for k in gift["g"]}
        out_g, out_n = sum(left_g.values(), Decimal(0)), sum(left_n.values(), Decimal(0))
        if out_g == 0 and out_n == 0:
            return
        for k, v in left_n.items():
            self.held[k][cur] -= v
        g = self.model_split(out_g, weights, cur)
        n = self.model_split(out_n, weights, cur)
        for k in weights:
            self.held[k][cur] += n[k]
        gift.update({"gross": out_g, "fee": out_g - out_n, "g": g, "f": {k: g[k] - n[k] for k in weights}, "back": Decimal(0), "fee_back": Decimal(0), "w": weights})

    @rule(where=st.sampled_from(["X", "general"]), cut=st.integers(min_value=0, max_value=3))
    def injected_fault(self, where: str, cut: int) -> None:
        """An exception at a random point inside a unit of work leaves nothing behind."""
        from tracker.models import Destination
        from tracker.services import booking, ledger, unit_of_work
        from tracker.services.donations import NewDonation, insert_donations

        before = canonical_dump(self.session)
        with pytest.raises(Boom), unit_of_work() as s:
            if cut == 0:
                raise Boom
            insert_donations(s, [NewDonation(account=self.account, received_at=self.tick(), currency="EUR", gross=Decimal("12.34"), fee=Decimal("0.50"), destination=Destination.CAMPAIGN if where == "X" else Destination.GENERAL, campaign_id=self.campaigns["X"].id if where == "X" else None)])
            if cut == 1:
                raise Boom
            booking.book_to_review(s, kind=ledger.EntryKind.UNCLASSIFIED, asset_ledger_id=self.account.asset_ledger_id, currency="EUR", amount=Decimal("3.00"), occurred_at=self.tick())
            s.flush()
            raise Boom
        assert canonical_dump(self.session) == before

    # --- invariants ------------------------------------------------------------

    @invariant()
    def ledger_checks_out(self) -> None:
        if not hasattr(self, "account"):
            return
        from tracker.services.checks import check_ledger

        report = check_ledger(self.session)
        self.session.rollback()
        assert report.ok, "\n".join(map(str, report.violations))

    @invariant()
    def funds_match_the_model(self) -> None:
        if not hasattr(self, "account"):
            return
        from tracker.services import ledger

        for key, per_cur in self.held.items():
            fund = self.fund(key)
            for cur, expected in per_cur.items():
                assert -ledger.balance_of(self.session, fund.ledger_account_id, cur) == expected, (key, cur)
        self.session.rollback()


@pytest.mark.timeout(0 if NIGHTLY else 1200)
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_ledger_state_machine(engine: str, databases: Any, tmp_path_factory: Any, tmp_path: Any) -> None:
    LedgerMachine.database = database_for(engine, databases, tmp_path_factory)
    LedgerMachine.tmp = tmp_path
    runner = LedgerMachine.TestCase
    runner.settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None)
    runner().runTest()
