# The examples of lookalikes below are lookalikes on purpose.
# ruff: noqa: RUF002
r"""The tagging engine: payment text and metadata -> campaign | review | general.

Pure: rules come in as :class:`Rule` values, text as (field, text) pairs, and
a :class:`~tracker.records.TagResult` goes out. Nothing here knows Flask, the
database or the clock; the same input always gives the same result, whatever
the order the rules were given in.

Evaluation order
----------------
1. **Explicit metadata.** Every metadata pair whose key is ``campaign`` or
   ``tag`` (any case) and whose value is not blank is looked up whole, after
   the same normalisation as text (below; leading and trailing punctuation such
   as ``#`` is dropped), among the tag and alias rules. If every such value
   names the same single campaign through a rule that applies to the provider
   on the date, that campaign wins (``TagSource.METADATA``) and free text is
   not read. A value that names no campaign, several campaigns, a campaign
   whose rules do not apply (provider or date window), a lookalike of a tag,
   or values naming different campaigns: **review**, with the reason. Field
   limits of rules do not apply to metadata.
2. **Free text.** Each (field, text) pair is cut into tokens and each token
   and phrase is looked up (tags and aliases); regex rules run once per field.
   A rule limited to some providers or fields does not see the others: a hit
   there is no evidence at all (neither match nor review).
3. **Decision.** Let *valid* be the campaigns with a hit whose rule is in its
   date window on ``on``, *stale* the campaigns whose only hits are outside it,
   and *lookalikes* the near-matches described below. Any lookalike, more than
   one valid campaign, or any stale campaign: **review**, every reason given
   and every such campaign listed in ``candidates`` (a stale hit of a
   campaign that also has a valid hit is ignored). Exactly one valid campaign:
   **campaign** (``TagSource.RULE``). Nothing: **general**.

Tie rule
--------
Priority orders the rules of *one* campaign: the matches of the chosen
campaign are reported best first (higher priority, then earlier field and
position, then a canonical order of the rule's attributes). It never settles
a conflict between two campaigns: that is always review. Candidates are
listed numeric tags first, in numeric order.

What matches
------------
- A **token** is a run of letters and digits (Unicode L and N) with their
  combining marks. A digit group joined to more digits by one ``.`` ``,``
  ``-`` ``'`` or any space (U+0020, U+00A0, U+202F, U+2009, ...) is one number:
  "1 205", "1.205,00", "205.00", "3 205 руб" and the phone numbers
  "+7 912 205 33 44" and "(912) 205-33-44" never match 205. Everything else
  (punctuation, ``#``, ``№``, emoji, symbols, ``_``) separates tokens, so
  "#205", "(205)", "for 205!", "205." and "№205" match. "1205", "2050",
  "205a" do not.
- Tokens are compared after NFKC, full case folding and NFKC, so "ПЕНЗА"
  matches "пенза", full-width "２０５" and "②⓪⑤" match 205, "Straße" matches
  "strasse" (and ß/ẞ fold to ss both ways). Case folding is not Turkish:
  "I" is "i", "İ" is also "i", and dotless "ı" is its own letter (a lookalike
  of "i"). Accents count: "Pénza" is not "penza" (it is a lookalike).
- An **alias** of several words matches the same words separated by any run
  of whitespace ("Penza case" matches "for the penza   case"); other
  separators must be the same as in the alias ("penza-case").
- A **regex** rule runs on the text as written, case-insensitively (``(?-i)``
  turns that off), with RE2 (linear time). A regex match counts only where it
  starts and ends on token boundaries, exactly like a tag, so the regex needs
  no ``\b`` (RE2's ``\b`` knows only ASCII) and ``20\d`` never matches in
  "1205" or "1 205". Regexes take no part in metadata or lookalikes.

Lookalikes (never silent)
-------------------------
A token or phrase that is not a tag or alias but whose UTS #39 skeleton
equals one is a lookalike when it contains something suspicious: a letter of
another script or a known homoglyph ("2О5" with Cyrillic О, Greek "ΡΕΝΖΑ"),
a letter among digits ("2o5"), digits of another script ("٢٠٥"), an accent
or a combining mark ("Pénza", keycaps), or an invisible character inside it
("2\u200b05", soft hyphen, bidi controls). A field that contains a direction override
(U+202D, U+202E) is also read reversed, and nothing found in it matches
silently. Lookalikes send to review with the reason; invisible characters at
the edge of a token are plain separators, and a token made only of ASCII
letters is an ordinary word ("IOI" is not tag 101; "cafe" is not alias
"café": add both spellings if both are meant). See :mod:`tracker.tagging.lookalikes`.

Speed
-----
All tags and aliases are compiled into dictionaries keyed by normalised
token (and by skeleton); tagging a text is one tokenizer pass and set
look-ups, independent of the number of rules. ``bench/tagging.py`` measures it.

May import: the standard library, tracker.records, tracker.errors,
tracker.i18n, and re2 (google-re2, for regex rules only). Never Flask or
SQLAlchemy: a test imports this package in a fresh interpreter and checks.
"""

from __future__ import annotations

from tracker.tagging.rules import Rule, RuleError, check_regex
from tracker.tagging.tagger import Finding, Tagger, compile_rules

__all__ = ["Finding", "Rule", "RuleError", "Tagger", "check_regex", "compile_rules"]
