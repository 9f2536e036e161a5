"""Store errors, importable without SQLAlchemy (the CLI reports them before loading it)."""


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to check."""
