"""Public-page fixtures: books seeded with distinctive donors, publications cut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web import public_seed


@pytest.fixture
def published(app: Any, books: Any, tmp_path: Path) -> Any:
    public_seed.seed(books, tmp_path)
    public_seed.cut()
    return app
