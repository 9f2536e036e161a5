"""Store errors, importable without SQLAlchemy (the CLI reports them before loading it)."""


class StoreError(Exception):
    """The store cannot be opened or used; the message says what to check."""


class Conflict(Exception):
    """A write found the row already there (a unique constraint): another process, or an
    earlier run, stored it first. The caller decides whether that is a race to retry."""
