"""Compiled rules: find every match and lookalike of any rule in a text.

Internal to :mod:`tracker.tagging`; :class:`tracker.tagging.Tagger` decides
what the hits mean. The order of the rules given never shows: every table is
kept sorted by a canonical rank of the rules' attributes.

May import: the standard library, tracker.i18n, tracker.records, and the
sibling modules tokens, lookalikes and rules.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from tracker.i18n import gettext as _
from tracker.records import TagMatch
from tracker.tagging.lookalikes import Oddity, ascii_skeleton_table, oddity, skeleton
from tracker.tagging.rules import (
    KINDS,
    Rule,
    RuleError,
    compile_regex,
    pattern_keys,
    phrase_keys,
    re2_module,
    regex_options,
    validate,
)
from tracker.tagging.tokens import BIDI_OVERRIDES, find_tokens, gap_key, iter_tokens, token_key

_REGEX_HITS_PER_RULE = 100
_SURROGATES = re.compile("[\ud800-\udfff]")
_ASCII_SKELETON = ascii_skeleton_table()

# raw token -> (key, skeleton). Normalisation does not depend on the rules, so
# one cache serves every Tagger; it is cleared rather than evicted when full.
_CACHE_LIMIT = 200_000
_token_cache: dict[str, tuple[str, str]] = {}


def _key_and_skeleton(raw: str) -> tuple[str, str]:
    found = _token_cache.get(raw)
    if found is None:
        found = (token_key(raw), skeleton(raw))
        if len(raw) <= 64:
            if len(_token_cache) >= _CACHE_LIMIT:
                _token_cache.clear()
            _token_cache[raw] = found
    return found


@dataclass(frozen=True, slots=True)
class Entry:
    """One compiled rule: the rule, its normalised key and its canonical rank."""

    rule: Rule
    key: str
    rank: tuple[Any, ...]
    campaign: str
    plain: bool  # no provider, field or date limits: a hit is always valid

    @classmethod
    def of(cls, rule: Rule, key: str) -> Entry:
        """The entry for ``rule`` under ``key``."""
        plain = (rule.providers, rule.fields, rule.valid_from, rule.valid_until) == (None,) * 4
        return cls(rule, key, _rank(rule), rule.campaign, plain)

    def covers(self, provider: str | None, field: str | None) -> str:
        """``""`` when the rule reads this provider and field, else why not."""
        rule = self.rule
        if provider is not None and rule.providers is not None and provider not in rule.providers:
            return "other_provider"
        if field is not None and rule.fields is not None and field not in rule.fields:
            return "other_field"
        return ""

    def in_window(self, on: date) -> bool:
        """Whether ``on`` lies in the rule's date window."""
        rule = self.rule
        return (rule.valid_from is None or rule.valid_from <= on) and (
            rule.valid_until is None or on <= rule.valid_until
        )


def _rank(rule: Rule) -> tuple[Any, ...]:
    """A total order on rules that uses every attribute, so input order never shows."""
    return (
        campaign_order(rule.campaign),
        -rule.priority,
        KINDS.index(rule.kind),
        rule.pattern,
        rule.id is None,
        rule.id or 0,
        rule.providers is None,
        tuple(sorted(rule.providers or ())),
        rule.fields is None,
        tuple(sorted(rule.fields or ())),
        rule.valid_from or date.min,
        rule.valid_until or date.max,
    )


def campaign_order(tag: str) -> tuple[int, int, str]:
    """Numeric tags in numeric order, then the others alphabetically."""
    if tag.isascii() and tag.isdigit():
        return (0, int(tag), tag)
    return (1, 0, tag)


class Hit(NamedTuple):
    """A place where a rule matched or nearly matched."""

    entry: Entry
    field_index: int  # position in ``texts``; -1 for metadata
    field: str
    start: int
    end: int
    text: str
    odd: Oddity | None  # set: a lookalike, never a match

    def position(self) -> tuple[Any, ...]:
        """Text order: field, span, then the rule's canonical rank."""
        return (self.field_index, self.start, self.end, self.entry.rank)

    def as_match(self) -> TagMatch:
        """The hit as a record; a lookalike's kind is ``lookalike``."""
        kind = "lookalike" if self.odd else self.entry.rule.kind
        rule = self.entry.rule
        return TagMatch(rule.campaign, rule.id, self.field, self.start, self.end, self.text, kind)


class Lookup(NamedTuple):
    """What a whole value names: exact entries, or the entry it is a lookalike of."""

    entries: list[Entry]
    start: int  # where the value's words begin
    text: str  # the value's words, as written
    odd: Oddity | None = None
    near: Entry | None = None


class _Index:
    """The rules' keys: exact words and phrases, and their skeletons."""

    def __init__(self) -> None:
        self.words: dict[str, list[Entry]] = {}
        self.phrases: dict[str, list[Entry]] = {}
        self.starts: set[str] = set()
        self.prefixes: set[str] = set()
        self.max_words = 1

    def add(self, words: Sequence[str], gaps: Sequence[str], entry: Entry) -> None:
        if len(words) == 1:
            self.words.setdefault(words[0], []).append(entry)
            return
        self.max_words = max(self.max_words, len(words))
        self.starts.add(words[0])
        acc = words[0]
        for gap, word in zip(gaps, words[1:], strict=True):
            acc += gap + word
            self.prefixes.add(acc)
        self.phrases.setdefault(acc, []).append(entry)

    def freeze(self) -> None:
        for table in (self.words, self.phrases):
            for key, entries in table.items():
                table[key] = sorted(set(entries), key=lambda e: e.rank)


class Matcher:
    """All rules compiled into dictionaries of normalised tokens and phrases.

    Scanning a text cuts it into tokens once and looks each token up, so the
    cost does not grow with the number of rules. Regex rules run as one RE2
    set. A Matcher is immutable and may be shared between threads.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        """Validate and compile ``rules``.

        Raises:
            RuleError: naming the first invalid rule, in the order given.
        """
        exact, similar = _Index(), _Index()
        regex_entries: dict[str, list[Entry]] = {}
        compiled: dict[str, Any] = {}
        kept: list[Rule] = []
        for given in rules:
            rule = validate(given)
            kept.append(rule)
            if rule.kind == "regex":
                try:
                    compiled.setdefault(rule.pattern, compile_regex(rule.pattern))
                except RuleError as exc:
                    raise RuleError(exc.message, rule) from None
                regex_entries.setdefault(rule.pattern, []).append(Entry.of(rule, rule.pattern))
                continue
            keys = pattern_keys(rule)
            entry = Entry.of(rule, keys.key)
            exact.add(keys.words, keys.gaps, entry)
            for variant in {rule.pattern, rule.pattern.casefold(), rule.pattern.upper()}:
                words, gaps = _skeleton_words(variant)
                similar.add(words, gaps, entry)
                if len(words) > 1:
                    # "penza\u200bcase" is one token; its skeleton is the
                    # phrase's words run together.
                    similar.add(["".join(words)], (), entry)
        exact.freeze()
        similar.freeze()
        self._exact = exact
        self._similar = similar
        self._keys = frozenset(exact.words) | exact.starts
        self._skeletons = frozenset(similar.words) | similar.starts
        self._rules = tuple(sorted(kept, key=_rank))
        self._regexes: list[tuple[Any, list[Entry]]] = []
        self._regex_set: Any = None
        if regex_entries:
            self._compile_regex_set(regex_entries, compiled)

    def _compile_regex_set(self, entries: dict[str, list[Entry]], compiled: dict[str, Any]) -> None:
        re2 = re2_module()  # present: compile_regex succeeded
        regex_set = re2.Set.SearchSet(regex_options())
        for pattern in sorted(entries):
            regex_set.Add(pattern)
            self._regexes.append(
                (compiled[pattern], sorted(entries[pattern], key=lambda e: e.rank))
            )
        try:
            regex_set.Compile()
        except re2.error:
            raise RuleError(_("the regular expressions are too large together")) from None
        self._regex_set = regex_set

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The compiled rules, in canonical order."""
        return self._rules

    # -- scanning ---------------------------------------------------------

    def _scan(self, index: int, field: str, text: str, hits: list[Hit]) -> None:
        """Append every match and lookalike in one text field to ``hits``."""
        if not text:
            return
        override = next((ch for ch in BIDI_OVERRIDES if ch in text), None)
        if override is not None:
            # What is shown may be the text reversed: look both ways, and let
            # nothing found here match silently.
            bidi = Oddity("override", override)
            for reverse in (False, True):
                source = text[::-1] if reverse else text
                words = find_tokens(source)
                pairs = [_key_and_skeleton(w) for w in words]
                self._match(index, field, hits, text, source, source, words, pairs, bidi=bidi)
        else:
            haystack, words, pairs = self._lookups(text)
            if pairs:
                self._match(index, field, hits, text, text, haystack, words, pairs, bidi=None)
        if self._regex_set is not None:
            self._scan_regex(index, field, text, hits, override)

    def _lookups(self, text: str) -> tuple[str, list[str], list[tuple[str, str]]]:
        """The tokens of ``text`` and their (key, skeleton) pairs.

        This is the hot path: when no token's key or skeleton is known, it
        returns no pairs after one tokenizer pass and set look-ups in C.
        ASCII text is lower-cased whole, so its tokens are their own keys.
        """
        if text.isascii():
            lowered = text.lower()
            words = find_tokens(lowered)
            skeletons = "\0".join(words).translate(_ASCII_SKELETON).split("\0")
            if self._keys.isdisjoint(words) and self._skeletons.isdisjoint(skeletons):
                return lowered, words, []
            return lowered, words, list(zip(words, skeletons, strict=True))
        words = find_tokens(text)
        cache, keys, known = _token_cache, self._keys, self._skeletons
        pairs = [cache.get(w) or _key_and_skeleton(w) for w in words]
        for key, skel in pairs:
            if key in keys or skel in known:
                return text, words, pairs
        return text, words, []

    def _match(  # noqa: PLR0917 - one call site per direction, all arguments needed
        self,
        index: int,
        field: str,
        hits: list[Hit],
        text: str,
        source: str,
        haystack: str,
        words: list[str],
        pairs: list[tuple[str, str]],
        *,
        bidi: Oddity | None,
    ) -> None:
        """Look tokens and phrases up; ``source`` is ``text`` or ``text`` reversed.

        ``words`` were cut from ``haystack``, which has ``source``'s length
        (it is ``source`` or ``source`` lower-cased).
        """
        reverse = source is not text
        size = len(text)
        tokens: list[tuple[int, int, str]] = []
        pos = 0
        for word in words:
            # No letter or digit lies between two tokens, so the next
            # occurrence of a token's text is the token itself.
            start = haystack.find(word, pos)
            pos = start + len(word)
            tokens.append((start, pos, source[start:pos]))

        found: list[tuple[int, int, Entry, Oddity | None]] = []
        seen: dict[tuple[str, str], Oddity | None] = {}  # oddity() of repeated tokens
        exact, similar = self._exact, self._similar
        for i, (key, skel) in enumerate(pairs):
            entries = exact.words.get(key)
            if entries:
                found.extend((i, i, entry, bidi) for entry in entries)
            elif not reverse and skel in similar.words:
                for entry in similar.words[skel]:
                    pair = (tokens[i][2], entry.key)
                    if pair in seen:
                        odd = seen[pair]
                    else:
                        odd = seen[pair] = oddity(*pair) if entry.key != key else None
                    if odd:
                        found.append((i, i, entry, odd))
            if key in exact.starts or (not reverse and skel in similar.starts):
                self._phrases(source, tokens, pairs, i, found, bidi=bidi, reverse=reverse)
        for first, last, entry, odd in found:
            start, end = tokens[first][0], tokens[last][1]
            if reverse:
                start, end = size - end, size - start
            hits.append(Hit(entry, index, field, start, end, text[start:end], odd))

    def _phrases(
        self,
        source: str,
        tokens: list[tuple[int, int, str]],
        pairs: list[tuple[str, str]],
        i: int,
        found: list[tuple[int, int, Entry, Oddity | None]],
        *,
        bidi: Oddity | None,
        reverse: bool,
    ) -> None:
        """Phrases that start at token ``i``: exact ones, then lookalikes."""
        exact_spans: set[tuple[int, str]] = set()
        if pairs[i][0] in self._exact.starts:
            for last, entry, hidden in self._extend(self._exact, source, tokens, pairs, i, which=0):
                exact_spans.add((last, entry.key))
                found.append((i, last, entry, bidi or hidden))
        if reverse or pairs[i][1] not in self._similar.starts:
            return
        for last, entry, hidden in self._extend(self._similar, source, tokens, pairs, i, which=1):
            if (last, entry.key) not in exact_spans:
                odd = hidden or oddity(source[tokens[i][0] : tokens[last][1]], entry.key)
                if odd:
                    found.append((i, last, entry, odd))

    @staticmethod
    def _extend(
        table: _Index,
        text: str,
        tokens: list[tuple[int, int, str]],
        keys: list[tuple[str, str]],
        first: int,
        *,
        which: int,
    ) -> Iterable[tuple[int, Entry, Oddity | None]]:
        """Phrases of ``table`` that start at token ``first``: (last token, entry, hidden)."""
        acc = keys[first][which]
        hidden: Oddity | None = None
        last = first
        while last + 1 < len(tokens) and last - first + 1 < table.max_words:
            gap_text = text[tokens[last][1] : tokens[last + 1][0]]
            gap, invisible = gap_key(gap_text)
            if invisible and hidden is None:
                hidden = oddity(gap_text, "")
            acc += gap + keys[last + 1][which]
            if acc not in table.prefixes:
                return
            last += 1
            for entry in table.phrases.get(acc, ()):
                yield last, entry, hidden

    def _scan_regex(
        self, index: int, field: str, text: str, hits: list[Hit], override: str | None
    ) -> None:
        subject = text
        try:
            found = self._regex_set.Match(subject)
        except UnicodeEncodeError:
            # Lone surrogates (undecodable bytes) cannot go to RE2 as UTF-8;
            # U+FFFD keeps every position where it was.
            subject = _SURROGATES.sub("\ufffd", text)
            found = self._regex_set.Match(subject)
        if not found:
            return
        spans = iter_tokens(text)
        starts = [s for s, _e, _t in spans]

        def inside(pos: int) -> bool:
            i = bisect_right(starts, pos) - 1
            return i >= 0 and spans[i][0] < pos < spans[i][1]

        bidi = Oddity("override", override) if override else None
        for number in sorted(found):
            regex, entries = self._regexes[number]
            kept = 0
            for match in regex.finditer(subject):
                start, end = match.span()
                # Whole tokens only, as for tags: "20\d" never matches in 1205
                # or in "1 205".
                if start == end or inside(start) or inside(end):
                    continue
                for entry in entries:
                    hits.append(Hit(entry, index, field, start, end, text[start:end], bidi))
                kept += 1
                if kept >= _REGEX_HITS_PER_RULE:
                    break

    def scan(self, texts: Iterable[tuple[str, str]]) -> list[Hit]:
        """Every match and lookalike in ``texts``, in text order, without duplicates."""
        hits: list[Hit] = []
        for index, (field, text) in enumerate(texts):
            self._scan(index, field, text, hits)
        if not hits:
            return hits
        unique = {(h.entry.rank, h.field_index, h.start, h.end): h for h in reversed(hits)}
        return sorted(unique.values(), key=Hit.position)

    def lookup(self, value: str) -> Lookup:
        """The tag and alias rules a whole value (metadata) names, or the one it looks like."""
        keys = phrase_keys(value)
        if keys is None:
            return Lookup([], 0, "")
        table = self._exact.words if len(keys.words) == 1 else self._exact.phrases
        entries = table.get(keys.key, [])
        spans = iter_tokens(value)
        start = spans[0][0]
        raw = value[start : spans[-1][1]]
        if entries:
            return Lookup(entries, start, raw)
        words, gaps = _skeleton_words(raw)
        similar = self._similar.words if len(words) == 1 else self._similar.phrases
        skel = words[0] + "".join(g + w for g, w in zip(gaps, words[1:], strict=True))
        for entry in similar.get(skel, []):
            odd = oddity(raw, entry.key)
            if odd:
                return Lookup([], start, raw, odd, entry)
        return Lookup([], start, raw)


def _skeleton_words(text: str) -> tuple[list[str], list[str]]:
    """Word skeletons and gap keys of ``text``, as the scan builds them."""
    words: list[str] = []
    gaps: list[str] = []
    end = -1
    for start, stop, raw in iter_tokens(text):
        if end >= 0:
            gaps.append(gap_key(text[end:start])[0])
        words.append(_key_and_skeleton(raw)[1])
        end = stop
    return words, gaps
