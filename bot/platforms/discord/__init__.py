"""Discord: renderers here are pure (dict payloads); only the adapter imports discord.py."""
