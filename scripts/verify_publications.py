#!/usr/bin/env python3
"""Verify a tracker publication chain, with nothing but Python's standard library.

Usage:
    python3 verify_publications.py https://fund.example.org     # download and check
    python3 verify_publications.py ./archive                    # check a saved copy

A saved copy is a folder holding ``publications.json`` and
``publications/<seq>.json`` (the files as served under ``/open-data/``).

For every release it checks that the bytes are canonical JSON (RFC 8785:
sorted keys, no spaces; amounts are strings, so no number formatting is
involved), that their SHA-256 is the one listed, that each names the hash of
the one before, and that the list's head is the last hash. Compare the head
with one you archived earlier (or saw in a page footer): if history was
rewritten, they differ. Exit status 0 when the chain holds, 1 otherwise.
"""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.request
from pathlib import Path


def _utf16_key(key: str) -> list[int]:
    data = key.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def canonical(value: object) -> str:
    """RFC 8785 for the JSON a release holds (strings, integers, booleans, null, arrays, objects)."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _utf16_key(kv[0]))
        return "{" + ",".join(canonical(k) + ":" + canonical(v) for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise ValueError(f"unexpected JSON value of type {type(value).__name__} (amounts must be strings)")


class Source:
    """Where the chain comes from: a base URL or a folder."""

    def __init__(self, where: str) -> None:
        self.where = where.rstrip("/")
        self.remote = where.startswith(("http://", "https://"))

    def read(self, relative: str) -> bytes:
        if self.remote:
            request = urllib.request.Request(f"{self.where}/open-data/{relative}", headers={"User-Agent": "verify-publications"})
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the user's URL
                return response.read()
        return (Path(self.where) / relative).read_bytes()


def verify(source: Source) -> list[str]:
    """Problems found, one message each; empty when the chain holds."""
    problems: list[str] = []
    listing = json.loads(source.read("publications.json"))
    previous = None
    for item in listing["publications"]:
        seq = item["seq"]
        data = source.read(f"publications/{seq}.json")
        digest = hashlib.sha256(data).hexdigest()
        try:
            body = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            problems.append(f"#{seq}: not JSON")
            continue
        if canonical(body).encode("utf-8") != data:
            problems.append(f"#{seq}: not canonical JSON (RFC 8785)")
        if digest != item["sha256"]:
            problems.append(f"#{seq}: SHA-256 {digest} differs from the listed {item['sha256']}")
        if body.get("seq") != seq:
            problems.append(f"#{seq}: the body names sequence number {body.get('seq')}")
        if body.get("previous") != previous or item.get("previous") != previous:
            problems.append(f"#{seq}: does not link to the release before it")
        previous = digest
    if listing.get("head") != previous:
        problems.append(f"the listed head {listing.get('head')} is not the last release's hash {previous}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    source = Source(argv[1])
    try:
        problems = verify(source)
    except (OSError, ValueError, KeyError) as error:
        print(f"cannot read the chain: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    listing = json.loads(source.read("publications.json"))
    print(f"chain intact: {len(listing['publications'])} publications, head {listing['head']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
