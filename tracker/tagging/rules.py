"""Tag rules as data, their validation, and the safe regex engine.

Regex rules run on RE2 (the ``google-re2`` package): matching takes time
linear in the text whatever the pattern, so a rule like ``(a+)+$`` cannot hang
an import. Without the package, regex rules are refused with a clear error
while tag and alias rules work as usual.

May import: the standard library, tracker.errors, tracker.i18n, tracker.records,
re2 (google-re2), and the sibling module tokens.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from tracker.errors import TrackerError
from tracker.i18n import gettext as _
from tracker.records import Provider
from tracker.tagging.tokens import gap_key, invisible_chars, iter_tokens, token_key

KINDS = ("tag", "alias", "regex")
MAX_PATTERN_LENGTH = 200
MAX_PHRASE_WORDS = 8
MAX_REGEX_LENGTH = 1000
# Keeps one hostile rule from taking the memory of every regex rule together.
REGEX_MAX_MEM = 8 << 20
_PROVIDERS = frozenset(p.value for p in Provider)


@dataclass(frozen=True, slots=True)
class Rule:
    """How text maps to a campaign: one TagRule row, or an ad-hoc rule.

    Attributes:
        id: the TagRule row id (``None`` for ad-hoc rules).
        campaign: the campaign's tag, e.g. ``"205"``.
        kind: ``"tag"``, ``"alias"`` or ``"regex"``.
        pattern: the tag, the alias (a word or phrase in any script) or the regex.
        providers: the providers the rule reads (``None``: all).
        fields: the text fields the rule reads (``None``: all).
        valid_from: first day the rule applies (inclusive; ``None``: always).
        valid_until: last day the rule applies (inclusive; ``None``: always).
        priority: orders the matches of one campaign, never two campaigns.
    """

    id: int | None
    campaign: str
    kind: str
    pattern: str
    providers: frozenset[str] | None = None
    fields: frozenset[str] | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    priority: int = 0

    def label(self) -> str:
        """How errors and reasons name the rule."""
        if self.id is not None:
            return _("rule %(id)s", id=self.id)
        return _("%(kind)s rule '%(pattern)s'", kind=self.kind, pattern=self.pattern[:60])

    def window(self) -> str:
        """The rule's date window in words, e.g. ``from 2024-01-01 until 2024-12-31``."""
        start = self.valid_from.isoformat() if self.valid_from else None
        end = self.valid_until.isoformat() if self.valid_until else None
        if start and end:
            return _("from %(start)s until %(end)s", start=start, end=end)
        if start:
            return _("from %(start)s", start=start)
        if end:
            return _("until %(end)s", end=end)
        return _("always")


class RuleError(TrackerError, ValueError):
    """A rule that cannot be compiled; the message names the rule and says why."""

    def __init__(self, message: str, rule: Rule | None = None) -> None:
        """Create the error; ``message`` is already translated."""
        self.message = message
        self.rule = rule
        text = message
        if rule is not None:
            text = _(
                "%(rule)s (campaign %(campaign)s): %(problem)s",
                rule=rule.label(),
                campaign=rule.campaign,
                problem=message,
            )
        super().__init__(text)


@cache
def re2_module() -> Any:
    """The RE2 module, or ``None`` when google-re2 is not installed."""
    try:
        return importlib.import_module("re2")
    except ImportError:
        return None


def regex_options() -> Any:
    """RE2 options for rules: case-insensitive, bounded memory, quiet."""
    re2 = re2_module()
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = REGEX_MAX_MEM
    options.log_errors = False
    return options


def compile_regex(pattern: str) -> Any:
    """Compile a regex rule's pattern with RE2, or say why it cannot be one.

    Raises:
        RuleError: the pattern is empty, too long, not RE2 syntax (for
            instance a backreference or lookahead), or can match empty text.
    """
    if not pattern.strip():
        raise RuleError(_("the regular expression is empty"))
    if len(pattern) > MAX_REGEX_LENGTH:
        raise RuleError(
            _("the regular expression is longer than %(limit)s characters", limit=MAX_REGEX_LENGTH)
        )
    re2 = re2_module()
    if re2 is None:
        raise RuleError(_("regular-expression rules need the google-re2 package"))
    try:
        compiled = re2.compile(pattern, regex_options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):  # the binding passes RE2's message as bytes
            detail = detail.decode("utf-8", "replace")
        raise RuleError(
            _("the regular expression does not compile: %(error)s", error=detail)
        ) from None
    # An empty match would tag every donation; probing a few texts catches
    # patterns such as "x*", "a|" or "\b".
    for probe in ("", " ", "a", "1", "я"):
        found = compiled.search(probe)
        if found is not None and found.start() == found.end():
            raise RuleError(_("the regular expression can match empty text"))
    return compiled


def check_regex(pattern: str) -> None:
    """Validate a regex rule when it is saved.

    Raises:
        RuleError: with a message that says what is wrong with the pattern.
    """
    compile_regex(pattern)


@dataclass(frozen=True, slots=True)
class PatternKeys:
    """A tag or alias pattern cut into normalised words and gaps."""

    words: tuple[str, ...]
    gaps: tuple[str, ...]

    @property
    def key(self) -> str:
        """The whole pattern's lookup key."""
        parts = [self.words[0]]
        for gap, word in zip(self.gaps, self.words[1:], strict=True):
            parts += [gap, word]
        return "".join(parts)


def phrase_keys(text: str) -> PatternKeys | None:
    """Cut ``text`` into word keys and gap keys; ``None`` when it has no word.

    Anything before the first word and after the last is dropped.
    """
    words: list[str] = []
    gaps: list[str] = []
    end = -1
    for start, stop, raw in iter_tokens(text):
        if end >= 0:
            gaps.append(gap_key(text[end:start])[0])
        words.append(token_key(raw))
        end = stop
    if not words:
        return None
    return PatternKeys(tuple(words), tuple(gaps))


def pattern_keys(rule: Rule) -> PatternKeys:
    """Validate a tag or alias rule's pattern and cut it into keys.

    Raises:
        RuleError: the pattern is empty, too long, holds invisible characters,
            does not begin and end with a letter or digit, or has too many words.
    """
    pattern = rule.pattern
    if not pattern.strip():
        raise RuleError(
            _("a tag cannot be empty") if rule.kind == "tag" else _("an alias cannot be empty"),
            rule,
        )
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RuleError(_("longer than %(limit)s characters", limit=MAX_PATTERN_LENGTH), rule)
    hidden = invisible_chars()
    for ch in pattern:
        if ch in hidden:
            raise RuleError(
                _("contains an invisible character (U+%(code)s)", code=f"{ord(ch):04X}"), rule
            )
    spans = iter_tokens(pattern)
    if not spans or spans[0][0] != 0 or spans[-1][1] != len(pattern):
        raise RuleError(
            _("'%(pattern)s' must begin and end with a letter or digit", pattern=pattern), rule
        )
    if len(spans) > MAX_PHRASE_WORDS:
        raise RuleError(
            _("a phrase can have at most %(limit)s words", limit=MAX_PHRASE_WORDS), rule
        )
    keys = phrase_keys(pattern)
    assert keys is not None  # spans is not empty
    return keys


def validate(rule: Rule) -> Rule:
    """Check everything about a rule except its pattern; normalise providers.

    Raises:
        RuleError: naming the rule and what is wrong with it.
    """
    if rule.kind not in KINDS:
        raise RuleError(_("unknown kind '%(kind)s'; use tag, alias or regex", kind=rule.kind), rule)
    if not rule.campaign.strip():
        raise RuleError(_("the campaign tag is empty"), rule)
    for name in ("valid_from", "valid_until"):
        value = getattr(rule, name)
        if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
            raise RuleError(_("%(name)s must be a date", name=name), rule)
    if rule.valid_from and rule.valid_until and rule.valid_from > rule.valid_until:
        raise RuleError(
            _(
                "valid from %(start)s is after valid until %(end)s",
                start=rule.valid_from.isoformat(),
                end=rule.valid_until.isoformat(),
            ),
            rule,
        )
    providers = _names(rule, rule.providers, _("providers"))
    if providers is not None:
        providers = frozenset(p.lower() for p in providers)
        unknown = sorted(providers - _PROVIDERS)
        if unknown:
            raise RuleError(_("unknown provider '%(provider)s'", provider=unknown[0]), rule)
    fields = _names(rule, rule.fields, _("fields"))
    if providers == rule.providers and fields == rule.fields:
        return rule
    return Rule(
        rule.id,
        rule.campaign,
        rule.kind,
        rule.pattern,
        providers,
        fields,
        rule.valid_from,
        rule.valid_until,
        rule.priority,
    )


def _names(rule: Rule, names: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise RuleError(_("%(what)s must be a set of names, not one string", what=what), rule)
    result = frozenset(names)
    if not result:
        raise RuleError(
            _("an empty set of %(what)s never matches; use None for all", what=what), rule
        )
    return result
