"""Flask extensions, created unbound here and bound in :mod:`tracker.app`.

Models import ``db`` from here (never from the package root), which keeps
imports acyclic.
"""

from __future__ import annotations

from flask_babel import Babel
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from tracker.dbtypes import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
