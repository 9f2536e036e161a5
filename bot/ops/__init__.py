"""Operating the bot: health and metrics endpoints, structured logs.

Each module is imported on its own (`bot.ops.metrics`, `bot.ops.health`, `bot.ops.logs`) so a
command that only logs never loads prometheus_client or the web server.
"""
