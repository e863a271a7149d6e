"""Translations for code that runs without Flask (importers, tagging, CLI).

Request code and templates use Flask-Babel; pure layers use :func:`gettext`
here, which reads the same compiled catalogs (``tracker/translations``) for the
locale in :data:`current_locale`. The web layer sets that variable per request
and the CLI from the environment (``LANG``), so a message is translated where it
is shown, whichever layer wrote it.

``N_`` marks a string for extraction without translating it (for module-level
tables that are translated when displayed).

May import: the standard library and Babel.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"

current_locale: ContextVar[str] = ContextVar("tracker_locale", default=DEFAULT_LOCALE)


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for ``locale`` (an empty one when missing)."""
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def gettext(message: str, **variables: object) -> str:
    """Translate ``message`` for the current locale, then fill ``%(name)s`` slots."""
    text = translations(current_locale.get()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    """Translate a message with a plural form; ``%(num)d`` is ``n``."""
    text = translations(current_locale.get()).ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def N_(message: str) -> str:  # noqa: N802 - the conventional name for a no-op marker
    """Mark ``message`` for extraction; translate it later with :func:`gettext`."""
    return message


_ = gettext


def locale_from_environment() -> str:
    """The supported locale the environment asks for (``LANG=ru_RU.UTF-8`` -> ``ru``)."""
    for var in ("TRACKER_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        code = value.split(".")[0].split("_")[0].lower()
        if code in LOCALES:
            return code
    return DEFAULT_LOCALE
