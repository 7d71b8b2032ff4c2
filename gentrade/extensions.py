"""The Flask extensions, created unbound so that models and services can import them.

The flask-smorest ``Api`` is not here: it holds one app's OpenAPI spec, so each app gets its own.
"""

from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from gentrade.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
