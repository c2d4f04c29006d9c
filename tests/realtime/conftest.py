"""The database fixtures of tests/db, for the live layer's database-backed units."""

from tests.db.conftest import db, fresh_database_url  # noqa: F401
