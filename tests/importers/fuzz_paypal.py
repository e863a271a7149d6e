"""Coverage-guided fuzzing of PayPal detection and extraction with atheris (P10).

    pip install atheris
    python tests/importers/fuzz_paypal.py -max_total_time=60 -timeout=1 -rss_limit_mb=512

Seeds: the real samples in /work/shared/formats/samples/paypal (if present)
and a few generated exports, written to a temporary corpus directory unless
a corpus directory is given as an argument. Any exception other than
tracker's InputError / InputErrors is a crash; libFuzzer saves the input
(``crash-*``), which belongs in the test suite as a regression fixture.
Not part of the pytest run.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from tracker.errors import InputError, InputErrors
    from tracker.importers import ReadOptions, cells, detect, encoding, paypal, reading, timezones  # noqa: F401

OPTIONS = (
    ReadOptions(),
    ReadOptions(date_order="dmy"),
    ReadOptions(decimal_mark=",", currency="USD"),
    ReadOptions(encoding="cp1251", timezone="Europe/Berlin"),
    ReadOptions(max_errors=1),
)


def test_one_input(data: bytes) -> None:
    """libFuzzer's entry point: one input, the first byte picks the options."""
    options = OPTIONS[data[0] % len(OPTIONS)] if data else OPTIONS[0]
    body = data[1:]
    paypal.identify(body[:65536], "fuzz.csv")
    with contextlib.suppress(InputError):
        detect(body, "fuzz.csv")
    try:
        for _line in paypal.extract(io.BytesIO(body), "fuzz.csv", options):
            pass
    except (InputError, InputErrors):
        pass


def seed_corpus(folder: Path) -> None:
    """Write the seeds: real samples and generated exports."""
    from tests.importers.paypal_factory import build, iter_transactions  # noqa: PLC0415

    samples = Path("/work/shared/formats/samples/paypal")
    if samples.is_dir():
        for path in samples.glob("*.csv"):
            (folder / path.name).write_bytes(b"\x00" + path.read_bytes())
    for name, language, enc in (
        ("en_activity_2018", "en", "utf-8"),
        ("de_activity_2016", "de", "cp1252"),
        ("es_statement", "es", "utf-16"),
    ):
        data, _ = build(
            name, iter_transactions(language, statement="statement" in name, count=5), encoding=enc
        )
        (folder / f"{name}.csv").write_bytes(b"\x00" + data)


def main() -> None:
    """Run libFuzzer; adds a seeded temporary corpus unless one is named."""
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):
        folder = Path(tempfile.mkdtemp(prefix="paypal-corpus-"))
        seed_corpus(folder)
        args.append(str(folder))
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
