"""The classroom tests use the PostgreSQL fixtures of tests/classroom/pg.py (registered in tests/conftest.py)."""
