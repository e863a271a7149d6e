"""Properties of tagging, checked with hypothesis (profiles from the top-level conftest)."""

# ruff: noqa: RUF001

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.records import TagOutcome
from tracker.tagging import Rule, compile_rules
from tracker.tagging.tagger import MAX_MATCHES
from tracker.tagging.tokens import BIDI_OVERRIDES, invisible_chars, is_word_char

from .conftest import ON, standard_rules

SMALL = compile_rules(
    [
        Rule(1, "205", "tag", "205"),
        Rule(2, "205", "alias", "пенза"),
        Rule(3, "205", "alias", "penza"),
    ]
)
STANDARD = compile_rules(standard_rules())

SCRIPTS = (
    "abcxyzABCXYZßçéñøł"  # Latin
    "абвгдежзийклмнопрстуфхцчшщъыьэюяЁЖЩ"  # Cyrillic
    "αβγδεΩΣ"  # Greek
    "אבגدرس"  # Hebrew, Arabic
    "あア漢字한"  # Japanese, Chinese, Korean
    "ǅⅫ"  # titlecase, Roman numeral
)
DIGITS = "0123456789٣۴०０９"  # ASCII, Arabic-Indic, Devanagari, full-width
word_chars = st.one_of(
    st.sampled_from(SCRIPTS + DIGITS),
    st.characters(categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No")).filter(is_word_char),
)
affixes = st.text(word_chars, min_size=1, max_size=4)
digit_groups = st.text(st.sampled_from(DIGITS), min_size=1, max_size=4)
joiners = st.sampled_from([".", ",", " ", "\u00a0", "\u202f", "\u2009", "-", "'", "\u2007"])
# Context words with no digit (nothing to join with) and no z (no accidental "penza").
context = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxy абвгдежийклмнопрстуфх"), max_size=30)


@st.composite
def embedded(draw: st.DrawFn) -> str:
    """A tag or alias glued to letters or digits, or joined into a longer number."""
    kind = draw(st.sampled_from(["prefix", "suffix", "both", "number_before", "number_after"]))
    tag = draw(st.sampled_from(["205", "пенза", "PENZA"]))
    if kind == "prefix":
        return draw(affixes) + tag
    if kind == "suffix":
        return tag + draw(affixes)
    if kind == "both":
        return draw(affixes) + tag + draw(affixes)
    if kind == "number_before":
        return draw(digit_groups) + draw(joiners) + "205"
    return "205" + draw(joiners) + draw(digit_groups)


@given(word=embedded(), left=context, right=context)
def test_tag_inside_a_longer_word_or_number_never_matches(word: str, left: str, right: str) -> None:
    result = SMALL.tag([("note", f"{left} {word} {right}")], provider="paypal", on=ON)
    assert result.outcome is TagOutcome.GENERAL, result


visible_separators = st.characters(
    exclude_categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No", "Mn", "Mc", "Me", "Cs")
).filter(lambda ch: ch not in BIDI_OVERRIDES and not is_word_char(ch))


@st.composite
def separators(draw: st.DrawFn) -> str:
    """Non-alphanumeric text with at least one visible character (emoji welcome)."""
    around = st.text(visible_separators, max_size=3)
    middle = draw(visible_separators.filter(lambda ch: ch not in invisible_chars()))
    return draw(around) + middle + draw(around)


@given(
    tag=st.sampled_from(["205", "пенза", "ПЕНЗА", "Penza", "２０５"]),
    before=separators(),
    after=separators(),
    left=context,
    right=context,
)
def test_tag_between_separators_always_matches(
    tag: str, before: str, after: str, left: str, right: str
) -> None:
    text = f"{left}{before}{tag}{after}{right}"
    result = SMALL.tag([("note", text)], provider="paypal", on=ON)
    assert (result.outcome, result.campaign) == (TagOutcome.CAMPAIGN, "205"), (text, result)


TEXTS = [
    "for 205",
    "penza case",
    "205, 318",
    "212 and 205",
    "bolotnaya",
    "kolomna",
    "Straße 280",
    "2О5 penza",
    "ст. 300",
    "\u202e502",
    "kırıll",
    "nothing here",
]


@given(
    rules=st.permutations(standard_rules()),
    text=st.one_of(st.sampled_from(TEXTS), st.text(max_size=40)),
    field=st.sampled_from(["note", "subject", "description"]),
    provider=st.sampled_from(["paypal", "stripe", "bank"]),
    metadata=st.lists(st.tuples(st.sampled_from(["campaign", "other"]), st.sampled_from(TEXTS))),
)
def test_result_does_not_depend_on_rule_order(
    rules: list[Rule], text: str, field: str, provider: str, metadata: list[tuple[str, str]]
) -> None:
    permuted = compile_rules(rules)
    texts = [(field, text)]
    assert permuted.tag(texts, metadata, provider=provider, on=ON) == STANDARD.tag(
        texts, metadata, provider=provider, on=ON
    )
    assert permuted.explain(texts, metadata, provider=provider, on=ON) == STANDARD.explain(
        texts, metadata, provider=provider, on=ON
    )


@given(text=st.text(max_size=200), other=st.text(max_size=50))
def test_tagging_is_deterministic_and_well_formed(text: str, other: str) -> None:
    texts = [("note", text), ("subject", other)]
    first = STANDARD.tag(texts, provider="paypal", on=ON)
    assert STANDARD.tag(texts, provider="paypal", on=ON) == first
    assert compile_rules(standard_rules()).tag(texts, provider="paypal", on=ON) == first
    fields = dict(texts)
    for match in first.matches:
        assert fields[match.field][match.start : match.end] == match.text
    if first.outcome is TagOutcome.CAMPAIGN:
        assert first.candidates == (first.campaign,)
        assert first.reason == ""
    elif first.outcome is TagOutcome.REVIEW:
        assert first.campaign is None
        assert first.reason
        assert first.candidates
    else:
        assert (first.campaign, first.matches, first.candidates) == (None, (), ())


# -- very long notes run in bounded time --------------------------------------------

MEGABYTE = 1_000_000
LONG_NOTES = {
    "prose": ("спасибо за поддержку, danke für die Spende 12,50 € 🙏 " * 20_000)[:MEGABYTE]
    + " 205",
    "one token": "a" * MEGABYTE,
    "one number": "205 " * (MEGABYTE // 4),
    "many tags": "205, " * (MEGABYTE // 5),
    "many lookalikes": "2О5, " * (MEGABYTE // 5),
    "many phrase starts": "penza " * (MEGABYTE // 6),
    "many invisibles": "2\u200b" * (MEGABYTE // 2),
    "reversed": "\u202e" + "502 x " * (MEGABYTE // 6),
    "regex bait": "ст " * (MEGABYTE // 3),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(LONG_NOTES))
def test_one_megabyte_note_is_tagged_in_bounded_time(name: str) -> None:
    text = LONG_NOTES[name]
    start = time.perf_counter()
    result = STANDARD.tag([("note", text)], provider="paypal", on=ON)
    elapsed = time.perf_counter() - start
    assert elapsed < 20, f"{name}: {elapsed:.1f} s"  # linear: about a second here
    assert len(result.matches) <= MAX_MATCHES
    assert len(result.reason) < 2000
