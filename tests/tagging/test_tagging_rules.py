"""Compiling rules: clear errors for bad rules, safe regexes, the explain preview."""

# ruff: noqa: RUF001

from __future__ import annotations

import time
from datetime import date

import pytest

from tracker.errors import TrackerError
from tracker.records import TagOutcome
from tracker.tagging import Finding, Rule, RuleError, Tagger, check_regex, compile_rules

from .conftest import ON


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            Rule(7, "205", "regex", "(penza"),
            "rule 7 (campaign 205): the regular expression does not",
        ),
        (Rule(7, "205", "regex", r"(a)\1"), "does not compile: invalid escape sequence"),
        (Rule(7, "205", "regex", "a(?=b)"), "does not compile: invalid perl operator"),
        (Rule(7, "205", "regex", "x*"), "can match empty text"),
        (Rule(7, "205", "regex", r"\b"), "can match empty text"),
        (Rule(7, "205", "regex", "  "), "the regular expression is empty"),
        (Rule(7, "205", "regex", "a" * 1001), "longer than 1000 characters"),
        (Rule(7, "205", "alias", "   "), "an alias cannot be empty"),
        (Rule(7, "205", "tag", ""), "a tag cannot be empty"),
        (Rule(7, "205", "word", "penza"), "unknown kind 'word'"),
        (Rule(7, " ", "tag", "205"), "the campaign tag is empty"),
        (Rule(7, "205", "tag", "#205"), "must begin and end with a letter or digit"),
        (Rule(7, "205", "alias", "penza!"), "must begin and end with a letter or digit"),
        (Rule(7, "205", "alias", "pen\u200bza"), "invisible character (U+200B)"),
        (Rule(7, "205", "alias", "a b c d e f g h i"), "at most 8 words"),
        (Rule(7, "205", "alias", "x" * 201), "longer than 200 characters"),
        (
            Rule(7, "205", "tag", "205", valid_from=date(2024, 2, 1), valid_until=date(2024, 1, 1)),
            "valid from 2024-02-01 is after valid until 2024-01-01",
        ),
        (
            Rule(7, "205", "tag", "205", providers=frozenset({"payapl"})),
            "unknown provider 'payapl'",
        ),
        (Rule(7, "205", "tag", "205", providers=frozenset()), "use None for all"),
        (Rule(7, "205", "tag", "205", fields=frozenset()), "use None for all"),
    ],
)
def test_bad_rules_are_named_and_explained(rule: Rule, message: str) -> None:
    good = Rule(1, "318", "tag", "318")
    with pytest.raises(RuleError) as caught:
        compile_rules([good, rule])
    assert message in str(caught.value)
    assert caught.value.rule is not None
    assert caught.value.rule.id == 7
    assert isinstance(caught.value, TrackerError)


def test_ad_hoc_rule_is_named_by_its_pattern() -> None:
    with pytest.raises(
        RuleError, match=r"regex rule '\(x' \(campaign 205\): the regular expression"
    ):
        compile_rules([Rule(None, "205", "regex", "(x")])


def test_check_regex_accepts_and_refuses() -> None:
    check_regex(r"penza\s+case")
    check_regex(r"\pL+205")
    with pytest.raises(RuleError, match="does not compile"):
        check_regex("[")


def test_catastrophic_pattern_is_safe_with_re2() -> None:
    check_regex("(a+)+$")
    tagger = compile_rules([Rule(1, "205", "regex", "(a+)+$")])
    text = "a" * 100_000 + "!"
    start = time.perf_counter()
    result = tagger.tag([("note", text)], provider="paypal", on=ON)
    assert time.perf_counter() - start < 2  # backtracking would take longer than the universe
    assert result.outcome is TagOutcome.GENERAL


def test_regex_is_case_insensitive_unless_told() -> None:
    tagger = compile_rules(
        [Rule(1, "205", "regex", "penza"), Rule(2, "318", "regex", "(?-i)Kolomna")]
    )
    assert tagger.tag([("note", "PENZA")], provider="paypal", on=ON).campaign == "205"
    assert tagger.tag([("note", "KOLOMNA")], provider="paypal", on=ON).outcome is TagOutcome.GENERAL
    assert tagger.tag([("note", "Kolomna")], provider="paypal", on=ON).campaign == "318"


def test_regex_rules_respect_providers_fields_and_windows() -> None:
    tagger = compile_rules(
        [
            Rule(1, "205", "regex", "penza", providers=frozenset({"bank"})),
            Rule(2, "318", "regex", "kolomna", fields=frozenset({"remittance"})),
            Rule(3, "212", "regex", "bolotnaya", valid_until=date(2019, 12, 31)),
        ]
    )
    assert tagger.tag([("note", "penza")], provider="paypal", on=ON).outcome is TagOutcome.GENERAL
    assert tagger.tag([("remittance", "penza")], provider="bank", on=ON).campaign == "205"
    assert tagger.tag([("note", "kolomna")], provider="bank", on=ON).outcome is TagOutcome.GENERAL
    assert tagger.tag([("remittance", "kolomna")], provider="bank", on=ON).campaign == "318"
    assert tagger.tag([("note", "bolotnaya")], provider="bank", on=ON).outcome is TagOutcome.REVIEW


def test_identical_rules_given_twice_are_one() -> None:
    rule = Rule(1, "205", "tag", "205")
    result = compile_rules([rule, rule]).tag([("note", "205")], provider="paypal", on=ON)
    assert len(result.matches) == 1


def test_same_alias_for_two_campaigns_is_a_conflict_at_tagging_time() -> None:
    tagger = compile_rules([Rule(1, "205", "alias", "penza"), Rule(2, "206", "alias", "Penza")])
    result = tagger.tag([("note", "penza")], provider="paypal", on=ON)
    assert result.outcome is TagOutcome.REVIEW
    assert result.candidates == ("205", "206")


def test_rules_are_kept_in_canonical_order() -> None:
    rules = [
        Rule(2, "318", "tag", "318"),
        Rule(1, "205", "alias", "penza"),
        Rule(3, "205", "tag", "205"),
    ]
    assert [r.id for r in compile_rules(rules).rules] == [3, 1, 2]
    assert compile_rules(reversed(rules)).rules == compile_rules(rules).rules


def test_providers_are_case_insensitive() -> None:
    tagger = compile_rules([Rule(1, "318", "alias", "kolomna", providers=frozenset({"PayPal"}))])
    assert tagger.rules[0].providers == frozenset({"paypal"})
    assert tagger.tag([("note", "kolomna")], provider="paypal", on=ON).campaign == "318"


def test_no_rules_tags_everything_general() -> None:
    result = compile_rules([]).tag([("note", "205 penza")], provider="paypal", on=ON)
    assert result.outcome is TagOutcome.GENERAL


# -- explain ----------------------------------------------------------------------


def test_explain_lists_every_near_and_real_match(tagger: Tagger) -> None:
    findings = tagger.explain(
        [("note", "penza 2О5, 212, kolomna"), ("subject", "Straße")],
        [("campaign", "318")],
        provider="stripe",
        on=ON,
    )
    summary = [(f.field, f.campaign, f.rule_id, f.text, f.status) for f in findings]
    assert summary == [
        ("metadata:campaign", "318", 20, "318", "match"),
        ("note", "205", 2, "penza", "match"),
        ("note", "205", 1, "2О5", "lookalike"),
        ("note", "212", 10, "212", "outside_window"),
        ("note", "318", 21, "kolomna", "other_provider"),
        ("subject", "280", 31, "Straße", "other_field"),
    ]
    lookalike = findings[2]
    assert isinstance(lookalike, Finding)
    assert "Cyrillic" in lookalike.reason
    assert (lookalike.kind, lookalike.pattern) == ("tag", "205")


def test_explain_without_provider_or_date_ignores_those_limits(tagger: Tagger) -> None:
    findings = tagger.explain([("note", "212 kolomna")])
    assert [f.status for f in findings] == ["match", "match"]
