"""Ingest: fetch, parse, normalise, dedup, classify. No chat SDK is imported here."""
