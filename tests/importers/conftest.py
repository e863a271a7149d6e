"""Fixtures and settings for the importer tests (no app, no database).

Hypothesis profiles, chosen with ``HYPOTHESIS_PROFILE`` (default ``ci``):
``ci`` keeps the whole importer suite near a minute on 2 cores; ``nightly``
runs the fuzz tests at full size. They are registered here only when nobody
(tests/conftest.py, owned by another layer) registered them first.

Real PayPal samples are read in place from /work/shared/formats/samples/paypal
(or ``TRACKER_SAMPLES``); tests that need them skip when the folder is absent,
except under ``CI=true``, where a missing folder fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument

from tests.importers.paypal_factory import SAMPLES


def _register(name: str, **kwargs: object) -> None:
    try:
        settings.get_profile(name)
    except InvalidArgument:
        settings.register_profile(name, **kwargs)  # type: ignore[arg-type]


_register(
    "ci",
    max_examples=150,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
_register(
    "nightly",
    max_examples=5000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def samples_dir() -> Path:
    """The sample folder, or skip (fail under CI=true) when it is missing."""
    if SAMPLES.is_dir():
        return SAMPLES
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the PayPal samples are missing: {SAMPLES}")
    pytest.skip(f"PayPal samples not found at {SAMPLES} (set TRACKER_SAMPLES)")


@pytest.fixture
def samples() -> Path:
    """The folder of real PayPal exports."""
    return samples_dir()
