"""Embeddable SVG badges: a label and a published amount, shields-style.

Language-neutral (English label, amounts formatted the ISO way), accessible
(``role="img"`` with a title), deterministic, and free of script.

May import: the standard library, :mod:`tracker.money`, :mod:`tracker.services.published`.
"""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from tracker import money
from tracker.services.published import Figures

_CHAR = 7  # average glyph width at 11px Verdana-like fonts
_PAD = 10


def amount_text(figures: Figures, amounts: dict[str, Decimal]) -> str:
    """One currency as is; several summed into the base currency ("≈"); nothing yet as "—"."""
    if not amounts:
        return "—"
    if len(amounts) == 1:
        currency, amount = next(iter(amounts.items()))
        return money.format_money(amount, currency, "en")
    converted = figures.in_base(amounts)
    if converted is None:
        return "—"
    value, missing = converted
    text = "≈ " + money.format_money(value, figures.base_currency, "en")
    return text + " +" if missing else text


def _width(text: str) -> int:
    return len(text) * _CHAR + 2 * _PAD


def badge(label: str, value: str) -> str:
    """The SVG document."""
    label = label[:60]
    lw, vw = _width(label), _width(value)
    title = escape(f"{label}: {value}")
    label_x, value_x = lw // 2, lw + vw // 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{lw + vw}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<rect width="{lw}" height="20" fill="#24292f"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="#1a7f37"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{label_x}" y="14">{escape(label)}</text>'
        f'<text x="{value_x}" y="14">{escape(value)}</text>'
        "</g></svg>"
    )
