"""Persistence: SQLAlchemy models, repository functions, Alembic migrations (SQLite or PostgreSQL)."""
