"""`trend` and `share`: how much relevant news each company drew, day by day, as charts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from bot.commands.binding import Param, UsageError
from bot.commands.messages import Command, Reply
from bot.commands.table import COMPANY_HELP, Context, command, names
from bot.trends import present as trends
from bot.trends.series import TrendData


@command(
    "trend",
    "A chart of daily relevant stories per company",
    Param(
        "companies", COMPANY_HELP + "; several to compare", required=True, kind="company", many=True
    ),
    Param(
        "days",
        f"Window in days (1-{trends.MAX_CHART_DAYS}, default {trends.DEFAULT_TREND_DAYS})",
        kind="int",
        low=1,
        high=trends.MAX_CHART_DAYS,
        default=trends.DEFAULT_TREND_DAYS,
    ),
)
async def _trend_chart(
    ctx: Context, command: Command, *, companies: tuple[str, ...], days: int
) -> Reply:
    order = {company: index for index, company in enumerate(ctx.catalog.ids)}
    # catalog order: the same companies give the same chart (and cache entry) however asked
    companies = tuple(sorted(companies, key=lambda c: order.get(c, len(order))))
    if len(companies) > trends.MAX_TREND_COMPANIES:
        raise UsageError(f"compare at most {trends.MAX_TREND_COMPANIES} companies at once.")
    data = await _trend_data(ctx, companies, days)
    if not any(s.total for s in data.series):
        return Reply(
            title=f"No relevant stories about {names(ctx, companies)} in the last {days} days.",
            lines=("Try more days or other companies.",),
        )
    chart = await trends.trend_chart(data, ctx.catalog.ids, ctx.charts)
    return Reply(title=trends.trend_title(data), lines=trends.trend_lines(data), attachment=chart)


@command(
    "share",
    "Share of mentions: which companies dominated the news, as a chart and a ranking",
    Param(
        "days",
        f"Window in days (1-{trends.MAX_CHART_DAYS}, default {trends.DEFAULT_SHARE_DAYS})",
        kind="int",
        low=1,
        high=trends.MAX_CHART_DAYS,
        default=trends.DEFAULT_SHARE_DAYS,
    ),
)
async def _share(ctx: Context, command: Command, *, days: int) -> Reply:
    data = await _trend_data(ctx, ctx.catalog.ids, days)
    if not any(s.total for s in data.series):
        return Reply(title=f"No relevant stories in the last {days} days.")
    chart = await trends.share_chart(data, ctx.catalog.ids, ctx.charts)
    return Reply(
        title=trends.share_title(days), lines=trends.share_reply_lines(data), attachment=chart
    )


async def _trend_data(ctx: Context, companies: Sequence[str], days: int) -> TrendData:
    from bot.trends.data import trend_data  # reads the store: loaded when a chart is asked for

    return await trend_data(
        ctx.store,
        ctx.company_names,
        companies,
        days=days,
        today=ctx.clock().astimezone(UTC).date(),
        min_score=ctx.settings.relevance_threshold,
    )
