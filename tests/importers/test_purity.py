"""The importers stay pure: importing them loads neither Flask nor SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys

CHECK = (
    "import tracker.importers, sys; "
    "loaded = {'flask', 'sqlalchemy'} & set(sys.modules); "
    "assert not loaded, loaded"
)


def test_importing_importers_loads_no_flask_or_sqlalchemy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


def test_importer_modules_import_only_allowed_packages() -> None:
    code = (
        "import sys; before = set(sys.modules); import tracker.importers; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; print(sorted(new))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(eval(result.stdout))
    # pytz comes with Babel (it loads it when installed); charset-normalizer is
    # imported lazily, on the first file that is not UTF-8.
    allowed_third_party = {"babel", "charset_normalizer", "pytz", "tracker"}
    stdlib = set(sys.stdlib_module_names) | {"_distutils_hack"}
    extra = {m for m in loaded - stdlib - allowed_third_party if not m.startswith("_sysconfigdata")}
    assert extra == set()
