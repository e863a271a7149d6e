"""Texts and the outcomes they must have: ARCHITECTURE.md "Tagging semantics" as a table."""

# Lookalike characters are the point of these tests.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tracker.records import Provider, TagOutcome, TagResult, TagSource
from tracker.tagging import Rule, Tagger, compile_rules

from .conftest import ON

CAMPAIGN, REVIEW, GENERAL = TagOutcome.CAMPAIGN, TagOutcome.REVIEW, TagOutcome.GENERAL


def note(tagger: Tagger, text: str, *, provider: str = "paypal", on: date = ON) -> TagResult:
    """Tag ``text`` as a PayPal note."""
    return tagger.tag([("note", text)], provider=provider, on=on)


MATCHES_205 = [
    # ARCHITECTURE.md's own examples
    "205",
    "#205",
    "(205)",
    "for 205!",
    "205.",
    "Thanks, for 205.",
    # punctuation and symbols are separators
    "[205]",
    "'205'",
    '"205"',
    "205:",
    "205;",
    "205?",
    "205/",
    "_205_",
    "№205",  # NFKC would make this "No205"; tokens are cut before normalising
    "№ 205",
    "205-й",
    "ст.205",
    "на 205\nспасибо",
    "205\n50 EUR",  # a line break does not join numbers
    "205\ud800",  # a lone surrogate (undecodable byte) is a separator
    "\x00205\x00",
    "205 – 50 EUR",
    "Spende 205, danke",
    "for\u00a0205\u00a0!",  # no-break spaces join digits only to digits
    # emoji are separators, even with variation selectors
    "🙏205🙏",
    "❤️205",
    "205❤️",
    "✊205✊",
    "205🇷🇺",
    # full-width, mathematical and circled digits are fine after NFKC
    "２０５",
    "𝟐𝟎𝟓",
    "②⓪⑤",
    # invisible characters at the edge of a token are separators
    "205\u200b",
    "\u200b205",
    "\u00ad205",
    "\ufeff205",
    # aliases, case-insensitive, any script
    "penza",
    "PENZA",
    "Penza's",
    "Пенза",
    "ПЕНЗА",
    "пенза",
    "Сеть",
    "СЕТЬ",
    "сеть",
    "for the penza   case",
    "PENZA\u00a0CASE",
    "penza\ncase",
]


@pytest.mark.parametrize("text", MATCHES_205)
def test_matches_205(tagger: Tagger, text: str) -> None:
    result = note(tagger, text)
    assert (result.outcome, result.campaign, result.source) == (CAMPAIGN, "205", TagSource.RULE)
    assert result.candidates == ("205",)
    for match in result.matches:
        assert text[match.start : match.end] == match.text


NO_MATCH = [
    "",
    "thanks",
    # glued to letters or digits
    "1205",
    "2050",
    "205a",
    "a205",
    "205руб",
    "x205y",
    # one number: digit groups joined by . , ' - or any space
    "1 205",
    "1.205,00",
    "205.00",
    "205,50",
    "205.5",
    "20.5",
    "2 05",
    "3 205 руб",
    "1\u00a0205",
    "1\u202f205",
    "1\u2009205",
    "1'205",
    "+7 912 205 33 44",  # a phone number, spaces: one number
    "+7 (912) 205-33-44",  # a phone number, hyphens: one number
    "8-912-205-33-44",
    "05.02.2024",
    "2024-02-05",
    "1２０５",
    "１，２０５",  # full-width comma joins like a comma
    "２０５．００",
    "205 50 EUR",  # the tag then an amount: one number (documented consequence)
    # words that only resemble an alias
    "penzas",
    "penzacase",  # plain ASCII letters: another word, not a lookalike
    "IOI",  # plain ASCII letters are never a lookalike of tag 101
    "lol",
    "cafe",
]


@pytest.mark.parametrize("text", NO_MATCH)
def test_general(tagger: Tagger, text: str) -> None:
    result = note(tagger, text)
    assert result.outcome is GENERAL, result
    assert result.campaign is None
    assert result.matches == ()
    assert result.reason == ""


LOOKALIKES_205 = [
    ("2О5", "Cyrillic letter (U+041E)"),
    ("2Ο5", "Greek letter (U+039F)"),
    ("2o5", "Latin letter (U+006F)"),
    ("2O5", "Latin letter (U+004F)"),
    ("for 2О5, thanks", "Cyrillic"),
    ("٢٠٥", "Arabic-Indic digits"),
    ("۲۰۵", "Extended Arabic-Indic digits"),
    ("2⃣0⃣5⃣", "combining mark on a digit (U+20E3)"),
    ("2️⃣0️⃣5️⃣", "invisible character (U+FE0F)"),
    ("pеnza", "Cyrillic letter (U+0435)"),
    ("ΡΕΝΖΑ", "Greek letter"),
    ("Cеть", "Latin letter (U+0043)"),
    ("penza\u200bcase", "invisible character (U+200B)"),
    ("Pénza", "accent or another mark (U+00E9)"),
    ("Пенза\u0301", "accent or another mark (U+0301)"),  # a stress mark
    ("2\u030805", "combining mark on a digit (U+0308)"),
] + [
    (f"2{ch}05", f"invisible character (U+{ord(ch):04X})")
    for ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e"
    "\u2066\u2067\u2068\u2069"
]


@pytest.mark.parametrize(("text", "why"), LOOKALIKES_205)
def test_lookalikes_go_to_review(tagger: Tagger, text: str, why: str) -> None:
    result = note(tagger, text)
    assert result.outcome is REVIEW, result
    assert result.campaign is None
    assert result.candidates == ("205",)
    assert "looks like" in result.reason
    assert why in result.reason
    assert all(m.kind == "lookalike" for m in result.matches)


@pytest.mark.parametrize("text", ["\u202e502", "\u202e205\u202c", "x \u202e502 y", "\u202dpenza"])
def test_direction_override_never_matches_silently(tagger: Tagger, text: str) -> None:
    result = note(tagger, text)
    assert result.outcome is REVIEW
    assert result.candidates == ("205",)
    assert "direction override (U+202" in result.reason
    assert "\u202e" not in result.reason  # quoted text has its controls escaped


def test_lookalike_beside_a_real_tag_still_goes_to_review(tagger: Tagger) -> None:
    result = note(tagger, "penza, 2О5")
    assert result.outcome is REVIEW
    assert result.candidates == ("205",)


def test_invisible_character_between_phrase_words(tagger: Tagger) -> None:
    result = note(tagger, "penza \u200bcase")
    assert result.outcome is REVIEW
    assert "invisible character (U+200B)" in result.reason


def test_reason_names_no_more_than_the_lookalike(tagger: Tagger) -> None:
    result = note(tagger, "from Ivan Petrov, ivan@example.org, for 2О5")
    assert result.outcome is REVIEW
    assert "Ivan" not in result.reason
    assert "example.org" not in result.reason
    assert result.reason.startswith("'2О5' looks like tag 205 but contains a Cyrillic letter")


# -- case folding: Turkish i, German ß ----------------------------------------


@pytest.mark.parametrize("text", ["kirill", "KIRILL", "Kirill", "KİRİLL", "kİrİll"])
def test_turkish_dotted_capital_i_folds_to_i(tagger: Tagger, text: str) -> None:
    result = note(tagger, text)
    assert (result.outcome, result.campaign) == (CAMPAIGN, "kirill")


def test_plain_ascii_spelling_of_an_accented_alias_is_another_word() -> None:
    tagger = compile_rules([Rule(1, "cafe", "alias", "café"), Rule(2, "tree", "alias", "ёлка")])
    assert note(tagger, "CAFÉ").campaign == "cafe"
    assert note(tagger, "cafe\u0301").campaign == "cafe"  # decomposed: NFKC composes it
    assert note(tagger, "cafe").outcome is GENERAL
    russian = note(tagger, "елка")  # е for ё is common in Russian: the treasurer decides
    assert russian.outcome is REVIEW
    assert "lookalike letter 'е' (U+0435)" in russian.reason


def test_turkish_dotless_i_is_a_lookalike(tagger: Tagger) -> None:
    result = note(tagger, "kırıll")
    assert result.outcome is REVIEW
    assert result.candidates == ("kirill",)
    assert "U+0131" in result.reason


@pytest.mark.parametrize("text", ["straße", "STRASSE", "Strasse", "STRAẞE", "strasse"])
def test_sharp_s_folds_to_ss(tagger: Tagger, text: str) -> None:
    result = note(tagger, text)
    assert (result.outcome, result.campaign) == (CAMPAIGN, "280")


# -- several campaigns, date windows, providers and fields -----------------------


@pytest.mark.parametrize("text", ["205, 318", "205 & 318", "penza / kolomna", "#205 #280"])
def test_several_campaigns_go_to_review(tagger: Tagger, text: str) -> None:
    result = note(tagger, text)
    assert result.outcome is REVIEW
    assert result.campaign is None
    assert "matches several campaigns" in result.reason
    assert len(result.candidates) == 2
    assert result.candidates[0] == "205"


def test_candidates_are_in_numeric_order(tagger: Tagger) -> None:
    assert note(tagger, "318, 101, 280").candidates == ("101", "280", "318")


def test_outside_date_window_goes_to_review(tagger: Tagger) -> None:
    result = note(tagger, "for 212")
    assert result.outcome is REVIEW
    assert result.candidates == ("212",)
    assert "rule 10 applies only from 2012-05-06 until 2019-12-31, not on 2024-06-01" in (
        result.reason
    )
    alias = note(tagger, "bolotnaya")
    assert alias.outcome is REVIEW
    assert "until 2019-12-31" in alias.reason


@pytest.mark.parametrize("on", [date(2012, 5, 6), date(2015, 1, 1), date(2019, 12, 31)])
def test_inside_date_window_matches(tagger: Tagger, on: date) -> None:
    result = note(tagger, "for 212", on=on)
    assert (result.outcome, result.campaign) == (CAMPAIGN, "212")


def test_date_window_is_inclusive_at_both_ends(tagger: Tagger) -> None:
    assert note(tagger, "212", on=date(2012, 5, 5)).outcome is REVIEW
    assert note(tagger, "212", on=date(2020, 1, 1)).outcome is REVIEW


def test_stale_campaign_beside_a_valid_one_goes_to_review(tagger: Tagger) -> None:
    result = note(tagger, "205 + 212")
    assert result.outcome is REVIEW
    assert result.candidates == ("205", "212")


def test_datetime_is_reduced_to_its_date(tagger: Tagger) -> None:
    when = datetime(2015, 1, 1, 12, tzinfo=UTC)
    assert note(tagger, "212", on=when).campaign == "212"


def test_provider_limited_rule_does_not_see_other_providers(tagger: Tagger) -> None:
    assert note(tagger, "kolomna", provider="paypal").campaign == "318"
    assert note(tagger, "kolomna", provider="stripe").outcome is GENERAL
    # kolomna is not evidence on Stripe, so 205 alone decides
    assert note(tagger, "kolomna 205", provider="stripe").campaign == "205"
    # the tag itself has no limit
    assert note(tagger, "318", provider="bank").campaign == "318"


def test_field_limited_rule_does_not_see_other_fields(tagger: Tagger) -> None:
    assert tagger.tag([("note", "Straße")], provider="paypal", on=ON).campaign == "280"
    general = tagger.tag([("description", "Straße")], provider="stripe", on=ON)
    assert general.outcome is GENERAL
    assert tagger.tag([("subject", "straße")], provider="paypal", on=ON).outcome is GENERAL


def test_any_field_can_carry_the_tag(tagger: Tagger) -> None:
    texts = [("note", "thanks"), ("subject", "gift"), ("item_title", "Donation 205")]
    result = tagger.tag(texts, provider="paypal", on=ON)
    assert result.campaign == "205"
    assert result.matches[0].field == "item_title"
    assert result.matches[0].text == "205"


def test_two_fields_naming_two_campaigns_go_to_review(tagger: Tagger) -> None:
    texts = [("note", "205"), ("subject", "318")]
    assert tagger.tag(texts, provider="paypal", on=ON).outcome is REVIEW


def test_provider_may_be_the_enum(tagger: Tagger) -> None:
    assert tagger.tag([("note", "kolomna")], provider=Provider.PAYPAL, on=ON).campaign == "318"


# -- priority within one campaign -------------------------------------------------


def test_priority_orders_the_matches_of_one_campaign(tagger: Tagger) -> None:
    result = note(tagger, "penza case")
    assert result.campaign == "205"
    assert [m.rule_id for m in result.matches] == [5, 2]
    assert result.matches[0].text == "penza case"
    assert result.matches[0].kind == "alias"


def test_equal_priority_reports_the_earliest_match_first(tagger: Tagger) -> None:
    result = note(tagger, "пенза 205")
    assert [m.rule_id for m in result.matches] == [3, 1]


def test_match_records_rule_field_span_and_text(tagger: Tagger) -> None:
    result = note(tagger, "Spende für #205!")
    (match,) = result.matches
    assert (match.campaign, match.rule_id, match.field) == ("205", 1, "note")
    assert (match.start, match.end, match.text, match.kind) == (12, 15, "205", "tag")


# -- regex rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["ст. 300", "ст 300", "СТ.300", "статья 300", "по ст.300!", "ст. 300\udcff"]
)
def test_regex_rule_matches(tagger: Tagger, text: str) -> None:
    result = note(tagger, text)
    assert (result.outcome, result.campaign) == (CAMPAIGN, "300")
    assert result.matches[0].kind == "regex"
    assert result.matches[0].rule_id == 60


@pytest.mark.parametrize("text", ["ст.3001", "1ст. 300", "пост. 300", "ст. 300.00", "ст. 1 300"])
def test_regex_match_must_start_and_end_on_token_boundaries(tagger: Tagger, text: str) -> None:
    assert note(tagger, text).outcome is GENERAL


def test_regex_and_tag_of_different_campaigns_conflict(tagger: Tagger) -> None:
    result = note(tagger, "ст. 300 и 205")
    assert result.outcome is REVIEW
    assert result.candidates == ("205", "300")
