"""Small builders and a PNG header reader shared by the trend tests."""

from __future__ import annotations

import struct
from datetime import date, timedelta

from bot.trends.series import CompanySeries, TrendData

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAST_DAY = date(2026, 11, 28)


def window(n: int, last: date = LAST_DAY) -> tuple[date, ...]:
    return tuple(last - timedelta(days=n - 1 - i) for i in range(n))


def trend(
    *series: tuple[str, str, tuple[int, ...]], sources: int = 17, last: date = LAST_DAY
) -> TrendData:
    n = len(series[0][2]) if series else 7
    return TrendData(
        days=window(n, last),
        series=tuple(CompanySeries(cid, name, counts) for cid, name, counts in series),
        source_count=sources,
    )


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which a valid PNG has right after its signature."""
    assert png[:8] == PNG_SIGNATURE
    length, chunk_type, width, height = struct.unpack(">I4sII", png[8:24])
    assert chunk_type == b"IHDR"
    assert length == 13
    return width, height
