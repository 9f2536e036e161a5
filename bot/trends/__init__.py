"""Trends: daily story counts per company as charts (values, rendering, a render cache)."""
