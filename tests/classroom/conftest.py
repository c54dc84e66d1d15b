"""Fixtures for the classroom tests: PostgreSQL databases (see tests/classroom/pg.py)."""

from tests.classroom.pg import db_url, pg_url

__all__ = ["db_url", "pg_url"]
