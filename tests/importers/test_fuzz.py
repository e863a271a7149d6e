"""P10: random bytes and mutated exports never raise anything but input errors.

Example counts follow the hypothesis profile (``HYPOTHESIS_PROFILE=nightly``
for the full run). Coverage-guided fuzzing lives in ``fuzz_paypal.py`` (atheris).
"""

from __future__ import annotations

import contextlib
import io
import time
from functools import cache

from hypothesis import example, given
from hypothesis import strategies as st

from tests.importers.paypal_factory import SAMPLES, build, iter_transactions
from tracker.errors import InputError, InputErrors
from tracker.importers import ReadOptions, detect, paypal

LIMIT_SECONDS = 1.0


@cache
def corpus() -> tuple[bytes, ...]:
    """Real samples when present, plus generated exports of several variants."""
    files = [p.read_bytes() for p in sorted(SAMPLES.glob("*.csv"))] if SAMPLES.is_dir() else []
    for name, language, encoding, statement in (
        ("en_activity_2018", "en", "utf-8", False),
        ("de_activity_2019", "de", "utf-8-sig", False),
        ("es_statement", "es", "utf-16", True),
        ("en_history_2016", "en", "cp1252", False),
        ("fr_statement", "fr", "cp1252", True),
    ):
        data, _ = build(
            name,
            iter_transactions(language, statement=statement, count=8, seed=2),
            encoding=encoding,
        )
        files.append(data)
    return tuple(files)


OPTIONS = st.builds(
    ReadOptions,
    encoding=st.sampled_from([None, None, "utf-8", "cp1251", "utf-16"]),
    date_order=st.sampled_from([None, None, "dmy", "mdy", "ymd"]),
    decimal_mark=st.sampled_from([None, None, ".", ","]),
    timezone=st.sampled_from([None, None, "Europe/Berlin"]),
    currency=st.sampled_from([None, "USD"]),
    max_errors=st.sampled_from([1, 100]),
)
INSERTS = [
    b'"',
    b",",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"\t",
    b";",
    "é".encode(),
    b"\xef\xbb\xbf",
    b'""',
    b"1,234.56",
    b"29/02/2021",
    b"IST",
    b'=HYPERLINK("x")',
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    files = corpus()
    data = bytearray(files[draw(st.integers(0, len(files) - 1))])
    for _ in range(draw(st.integers(1, 5))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "delete", "duplicate", "insert", "truncate"]))
        if op == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        elif op == "duplicate":
            lines = bytes(data).split(b"\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines[k:k] = [lines[k]] * draw(st.integers(1, 3))
            data = bytearray(b"\n".join(lines))
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(INSERTS))
        else:
            del data[at:]
    return bytes(data)


def run(data: bytes, options: ReadOptions) -> None:
    start = time.perf_counter()
    assert isinstance(paypal.identify(data[:65536], "f.csv"), bool)
    with contextlib.suppress(InputError):
        detect(data, "f.csv")
    try:
        for line in paypal.extract(io.BytesIO(data), "f.csv", options):
            assert line.line_no >= 2
    except (InputError, InputErrors) as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        assert all(e.file == "f.csv" and e.message for e in errors)
    assert time.perf_counter() - start < LIMIT_SECONDS


@given(data=st.binary(max_size=4096), options=OPTIONS)
@example(data=b"", options=ReadOptions())
@example(data=b"\xff\xfe", options=ReadOptions())
@example(data=b'Date,Time,TimeZone,Gross,Type\n"', options=ReadOptions())
def test_random_bytes(data: bytes, options: ReadOptions) -> None:
    run(data, options)


@given(data=mutated(), options=OPTIONS)
def test_mutated_exports(data: bytes, options: ReadOptions) -> None:
    run(data, options)


@given(data=mutated())
def test_mutated_exports_with_default_options(data: bytes) -> None:
    run(data, ReadOptions())
