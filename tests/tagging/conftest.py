"""Fixtures for the tagging engine's tests: a realistic rule set, no app, no database.

Hypothesis profiles (``ci``, ``nightly``) come from the top-level conftest.
"""

from __future__ import annotations

from datetime import date

import pytest

from tracker.tagging import Rule, Tagger, compile_rules

ON = date(2024, 6, 1)


def standard_rules() -> list[Rule]:
    """Campaigns as a group would set them up (ids as TagRule rows would have)."""
    return [
        # 205: the Penza "Network" case, with aliases in two scripts.
        Rule(1, "205", "tag", "205"),
        Rule(2, "205", "alias", "penza"),
        Rule(3, "205", "alias", "пенза"),
        Rule(4, "205", "alias", "Сеть"),
        Rule(5, "205", "alias", "Penza case", priority=5),
        # 212: Bolotnaya, a campaign that ended.
        Rule(10, "212", "tag", "212", valid_from=date(2012, 5, 6), valid_until=date(2019, 12, 31)),
        Rule(11, "212", "alias", "bolotnaya", valid_until=date(2019, 12, 31)),
        # 318: its alias is only trusted on PayPal.
        Rule(20, "318", "tag", "318"),
        Rule(21, "318", "alias", "kolomna", providers=frozenset({"paypal"})),
        # 280: its alias is only trusted in the note field.
        Rule(30, "280", "tag", "280"),
        Rule(31, "280", "alias", "straße", fields=frozenset({"note"})),
        # Letters with case folding traps.
        Rule(40, "kirill", "alias", "kirill"),
        Rule(50, "101", "tag", "101"),
        # A regex rule: "ст. 300", "ст 300", "статья 300".
        Rule(60, "300", "regex", r"ст(?:\.|атья)?\s*300"),
    ]


@pytest.fixture(scope="session")
def tagger() -> Tagger:
    """The standard rules, compiled once."""
    return compile_rules(standard_rules())
