"""Explicit metadata (Stripe's ``campaign`` / ``tag`` keys) decides over free text."""

# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from tracker.records import TagOutcome, TagResult, TagSource
from tracker.tagging import Rule, Tagger, compile_rules

from .conftest import ON


def stripe(tagger: Tagger, description: str, **metadata: str) -> TagResult:
    """Tag a Stripe charge with a description and metadata."""
    texts = [("description", description)]
    return tagger.tag(texts, list(metadata.items()), provider="stripe", on=ON)


@pytest.mark.parametrize(
    "value", ["205", "#205", " 205 ", "Penza", "ПЕНЗА", "penza case", "２０５"]
)
def test_metadata_names_the_campaign(tagger: Tagger, value: str) -> None:
    result = stripe(tagger, "", campaign=value)
    assert (result.outcome, result.campaign, result.source) == (
        TagOutcome.CAMPAIGN,
        "205",
        TagSource.METADATA,
    )
    (match,) = result.matches
    assert match.field == "metadata:campaign"
    assert value[match.start : match.end] == match.text


def test_metadata_wins_over_free_text(tagger: Tagger) -> None:
    result = stripe(tagger, "for 318 and 2О5", campaign="205")
    assert (result.campaign, result.source) == ("205", TagSource.METADATA)


def test_key_tag_and_any_case(tagger: Tagger) -> None:
    assert stripe(tagger, "", tag="205").campaign == "205"
    result = tagger.tag([], [("Campaign", "205")], provider="stripe", on=ON)
    assert result.campaign == "205"


def test_other_keys_are_not_explicit(tagger: Tagger) -> None:
    result = stripe(tagger, "for 318", order_id="205")
    assert (result.campaign, result.source) == ("318", TagSource.RULE)


def test_blank_value_is_no_metadata(tagger: Tagger) -> None:
    result = stripe(tagger, "for 318", campaign="  ")
    assert (result.campaign, result.source) == ("318", TagSource.RULE)


def test_value_naming_no_campaign_goes_to_review(tagger: Tagger) -> None:
    result = stripe(tagger, "for 318", campaign="Jane Doe")
    assert result.outcome is TagOutcome.REVIEW
    assert "metadata 'campaign' names no campaign" in result.reason
    assert "Jane" not in result.reason  # the value could be anything: never quoted
    assert result.candidates == ("318",)  # what the text says is kept beside it


def test_values_naming_different_campaigns_go_to_review(tagger: Tagger) -> None:
    result = stripe(tagger, "", campaign="205", tag="318")
    assert result.outcome is TagOutcome.REVIEW
    assert "different campaigns: 205, 318" in result.reason
    assert result.candidates == ("205", "318")


def test_values_naming_the_same_campaign_agree(tagger: Tagger) -> None:
    assert stripe(tagger, "", campaign="205", tag="penza").campaign == "205"


def test_value_naming_several_campaigns_goes_to_review() -> None:
    tagger = compile_rules([Rule(1, "205", "alias", "penza"), Rule(2, "206", "alias", "penza")])
    result = stripe(tagger, "", campaign="penza")
    assert result.outcome is TagOutcome.REVIEW
    assert "names several campaigns: 205, 206" in result.reason


def test_value_outside_the_rule_window_goes_to_review(tagger: Tagger) -> None:
    result = stripe(tagger, "", campaign="212")
    assert result.outcome is TagOutcome.REVIEW
    assert "names campaign 212, but its rules do not apply to stripe on 2024-06-01" in (
        result.reason
    )


def test_value_for_a_rule_of_another_provider_goes_to_review(tagger: Tagger) -> None:
    result = stripe(tagger, "", campaign="kolomna")
    assert result.outcome is TagOutcome.REVIEW
    assert result.candidates == ("318",)


def test_field_limits_do_not_apply_to_metadata(tagger: Tagger) -> None:
    # alias "straße" is limited to the note field; metadata still names it
    assert stripe(tagger, "", campaign="Strasse").campaign == "280"


def test_lookalike_value_goes_to_review(tagger: Tagger) -> None:
    result = stripe(tagger, "", campaign="2О5")
    assert result.outcome is TagOutcome.REVIEW
    assert "'2О5' looks like tag 205 but contains a Cyrillic letter" in result.reason
    assert result.candidates == ("205",)
