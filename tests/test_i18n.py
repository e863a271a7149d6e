"""All user-facing text goes through gettext, and Russian is complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "tracker" / "translations" / "ru" / "LC_MESSAGES" / "messages.po"


def test_russian_catalog_has_every_message_translated(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_",
         "-k", "ngettext:1,2", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as handle:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="ru")
    have = {}
    for m in catalog:
        if m.id:
            key = m.id if isinstance(m.id, str) else m.id[0]
            have[key] = m
    missing = sorted(wanted - set(have))
    assert not missing, f"not in the Russian catalog (run make extract): {missing[:10]}"
    untranslated = sorted(k for k in wanted if not have[k].string or "fuzzy" in have[k].flags)
    assert not untranslated, f"untranslated or fuzzy: {untranslated[:10]}"
    for key in wanted:
        message = have[key]
        original = set(_placeholders(key))
        assert set(_placeholders(message.string if isinstance(message.string, str) else message.string[0])) == original, key


def _placeholders(text: str) -> list[str]:
    import re

    return re.findall(r"%\((\w+)\)[sd]", text)


def test_pure_layers_translate_through_the_same_catalog() -> None:
    from tracker import i18n

    token = i18n.current_locale.set("ru")
    try:
        assert i18n.gettext("General fund") == "Общий фонд"
        assert "--encoding" in i18n.gettext("cannot detect the file's encoding; pass --encoding")
    finally:
        i18n.current_locale.reset(token)
    assert i18n.gettext("General fund") == "General fund"


def test_cli_speaks_russian() -> None:
    import os

    env = {**os.environ, "TRACKER_LANG": "ru", "TRACKER_ENV": "development"}
    result = subprocess.run([sys.executable, "-m", "tracker", "account", "--help"], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert "Счета, на которых лежат деньги." in result.stdout
