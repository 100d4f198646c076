"""Database plumbing: the declarative base, engines for SQLite and PostgreSQL, migrations."""
