"""Storage: SQLite by default, PostgreSQL for scale-out, one interface (`Store`)."""
