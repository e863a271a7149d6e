"""JSON Schemas (draft 2020-12) of the open-data documents, served beside them.

May import: the standard library.
"""

from __future__ import annotations

from typing import Any

_AMOUNT = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
_MONEY = {"type": "object", "propertyNames": {"pattern": "^[A-Z]{3}$"}, "additionalProperties": _AMOUNT}
_DATE = {"type": "string", "format": "date"}
_RELEASE = {
    "type": ["object", "null"],
    "required": ["seq", "sha256", "as_of"],
    "properties": {"seq": {"type": "integer", "minimum": 1}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "as_of": {"type": ["string", "null"], "format": "date"}},
}
_PERIOD = {
    "type": "object",
    "required": ["start", "end", "received"],
    "properties": {"start": _DATE, "end": _DATE, "received": _MONEY, "spent": _MONEY},
}


def _doc(title: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "required": required,
        "properties": {"$schema": {"type": "string"}, **properties},
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "totals": _doc(
        "Published totals of the group, its prisoner funds and campaigns",
        ["group", "release", "base_currency", "raised", "spent", "held", "prisoners", "campaigns"],
        {
            "group": {"type": "string"},
            "release": _RELEASE,
            "base_currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "rates": {"type": "object", "additionalProperties": {"type": "object", "required": ["rate", "date"], "properties": {"rate": _AMOUNT, "date": _DATE, "source": {"enum": ["booked", "table"]}}}},
            "raised": _MONEY,
            "spent": _MONEY,
            "held": _MONEY,
            "in_base_currency": {"type": "object"},
            "prisoners": {"type": "array", "items": {"type": "object", "required": ["slug", "name", "raised", "spent", "held", "url"], "properties": {"slug": {"type": "string"}, "name": {"type": "string"}, "raised": _MONEY, "spent": _MONEY, "held": _MONEY, "url": {"type": "string"}}}},
            "campaigns": {"type": "array", "items": {"type": "object", "required": ["tag", "title", "raised", "goal", "url"], "properties": {"tag": {"type": "string"}, "title": {"type": "string"}, "raised": _MONEY, "goal": _MONEY, "url": {"type": "string"}}}},
        },
    ),
    "prisoner": _doc(
        "A prisoner's fund: published money in and out",
        ["release", "slug", "name", "raised", "spent", "held", "periods", "spending", "statements", "campaigns"],
        {
            "release": _RELEASE,
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "raised": _MONEY,
            "spent": _MONEY,
            "held": _MONEY,
            "periods": {"type": "array", "items": _PERIOD},
            "spending": {"type": "array", "items": {"type": "object", "required": ["start", "end", "category", "currency", "amount"], "properties": {"start": _DATE, "end": _DATE, "category": {"type": "string"}, "currency": {"type": "string"}, "amount": _AMOUNT, "descriptions": {"type": "array", "items": {"type": "string"}}}}},
            "statements": {"type": "array", "items": {"type": "object", "required": ["year", "currency", "opening", "received", "fees", "spent", "closing"]}},
            "campaigns": {"type": "array", "items": {"type": "object", "required": ["tag", "title", "weight"]}},
        },
    ),
    "campaign": _doc(
        "A campaign: its tag, prisoners and published money per period",
        ["release", "tag", "title", "goal", "prisoners", "raised", "periods", "events"],
        {
            "release": _RELEASE,
            "tag": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "from": {"type": ["string", "null"], "format": "date"},
            "until": {"type": ["string", "null"], "format": "date"},
            "goal": _MONEY,
            "prisoners": {"type": "array", "items": {"type": "object", "required": ["prisoner", "weight"]}},
            "raised": _MONEY,
            "periods": {"type": "array", "items": _PERIOD},
            "events": {"type": "array", "items": {"type": "object", "required": ["name", "date", "currency", "takings"]}},
            "allocation_notes": {"type": "array"},
            "pool": {"type": ["object", "null"]},
        },
    ),
    "publications": _doc(
        "The publication chain: each release's SHA-256 over its canonical JSON (RFC 8785) and its predecessor's",
        ["head", "publications"],
        {
            "head": {"type": ["string", "null"]},
            "publications": {"type": "array", "items": {"type": "object", "required": ["seq", "kind", "start", "end", "sha256", "previous", "url"], "properties": {"seq": {"type": "integer"}, "kind": {"enum": ["monthly", "yearly"]}, "start": _DATE, "end": _DATE, "sha256": {"type": "string"}, "previous": {"type": ["string", "null"]}, "url": {"type": "string"}}}},
        },
    ),
}
