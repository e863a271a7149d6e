"""All user-facing text goes through gettext, and Russian is complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

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


# What each count gives: English singular and plural, Russian one / few / many (1, 21 / 2 / 5, 11).
COUNTED = {
    "en": {
        1: ("1 donation assigned.", "At most 1 item at a time.", "Batch 7 was undone: 1 entry reversed.",
            "1 donation waits.", "Due now: 1 closed month."),
        2: ("2 donations assigned.", "At most 2 items at a time.", "Batch 7 was undone: 2 entries reversed.",
            "2 donations wait.", "Due now: 2 closed months."),
        5: ("5 donations assigned.", "At most 5 items at a time.", "Batch 7 was undone: 5 entries reversed.",
            "5 donations wait.", "Due now: 5 closed months."),
        11: ("11 donations assigned.", "At most 11 items at a time.", "Batch 7 was undone: 11 entries reversed.",
             "11 donations wait.", "Due now: 11 closed months."),
        21: ("21 donations assigned.", "At most 21 items at a time.", "Batch 7 was undone: 21 entries reversed.",
             "21 donations wait.", "Due now: 21 closed months."),
    },
    "ru": {
        1: ("1 пожертвование распределено.", "Не больше 1 позиции за раз.",
            "Пакет 7 отменён: сторнирована 1 проводка.", "1 пожертвование в ожидании.",
            "Пора публиковать 1 закрытый месяц."),
        2: ("2 пожертвования распределены.", "Не больше 2 позиций за раз.",
            "Пакет 7 отменён: сторнированы 2 проводки.", "2 пожертвования в ожидании.",
            "Пора публиковать 2 закрытых месяца."),
        5: ("5 пожертвований распределено.", "Не больше 5 позиций за раз.",
            "Пакет 7 отменён: сторнировано 5 проводок.", "5 пожертвований в ожидании.",
            "Пора публиковать 5 закрытых месяцев."),
        11: ("11 пожертвований распределено.", "Не больше 11 позиций за раз.",
             "Пакет 7 отменён: сторнировано 11 проводок.", "11 пожертвований в ожидании.",
             "Пора публиковать 11 закрытых месяцев."),
        21: ("21 пожертвование распределено.", "Не больше 21 позиции за раз.",
             "Пакет 7 отменён: сторнирована 21 проводка.", "21 пожертвование в ожидании.",
             "Пора публиковать 21 закрытый месяц."),
    },
}


def test_counted_messages_agree_with_their_number(app: Any) -> None:
    from flask import render_template_string

    from tracker import i18n

    template = (
        '{{ ngettext("%(num)d donation waits.", "%(num)d donations wait.", n) }}|'
        '{{ ngettext("Due now: %(num)d closed month.", "Due now: %(num)d closed months.", n) }}'
    )
    for lang, expected in COUNTED.items():
        # a page in that language: the request's hooks choose the locale for both layers
        with app.test_request_context(f"/{lang}/"):
            assert app.preprocess_request() is None
            try:
                for n, (assigned, at_most, undone, waits, due) in expected.items():
                    got = (
                        i18n.ngettext("%(num)d donation assigned.", "%(num)d donations assigned.", n),
                        i18n.ngettext("At most %(num)d item at a time.", "At most %(num)d items at a time.", n),
                        i18n.ngettext(
                            "Batch %(id)d was undone: %(num)d entry reversed.",
                            "Batch %(id)d was undone: %(num)d entries reversed.",
                            n,
                            id=7,
                        ),
                        *render_template_string(template, n=n).split("|"),
                    )
                    assert got == (assigned, at_most, undone, waits, due), (lang, n)
            finally:
                app.do_teardown_request()
    assert i18n.current_locale.get() == i18n.DEFAULT_LOCALE
