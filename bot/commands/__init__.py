"""The chat commands. Importing any part of the package declares every command.

Each handler module declares its commands with `@command` in `table.py`'s registry; importing
them here means `dispatch` and the adapters always see the whole menu, however they got here.
"""

from bot.commands import articles, charts, feeds, help, subscriptions

__all__ = ["articles", "charts", "feeds", "help", "subscriptions"]
