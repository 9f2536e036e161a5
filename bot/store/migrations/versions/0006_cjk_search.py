"""Full-text search finds Chinese, Japanese and Korean words inside longer runs.

Word tokenizers took a whole CJK run as one token, so `华为` matched nothing in `华为发布`.
SQLite: a second FTS5 table, `articles_fts_cjk`, holds the articles that contain CJK text
spelled as character pairs (bot/store/cjk.py), written by the ingest code beside the word
index; deletes go through a trigger. PostgreSQL: the `search` tsvector gains the same pairs,
computed by `chipwire_cjk_grams`, which mirrors bot/store/cjk.py. Existing articles are indexed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from alembic import op
from sqlalchemy import text

from bot.store.cjk import CJK_CLASS, has_cjk, index_text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE articles_fts_cjk USING fts5(title, summary, "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER articles_fts_cjk_delete AFTER DELETE ON articles BEGIN "
    "DELETE FROM articles_fts_cjk WHERE rowid = old.id; END",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS articles_fts_cjk_delete",
    "DROP TABLE IF EXISTS articles_fts_cjk",
]

_PG_CLASS = CJK_CLASS.encode("unicode_escape").decode("ascii")
_GRAMS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION chipwire_cjk_grams(body text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    piece text;
    n integer;
    result text := '';
BEGIN
    IF body IS NULL OR body !~ E'[{_PG_CLASS}]' THEN
        RETURN '';
    END IF;
    FOR piece IN SELECT m[1] FROM regexp_matches(body, E'([{_PG_CLASS}]+|[^{_PG_CLASS}]+)', 'g')
                 AS m LOOP
        IF piece ~ E'^[{_PG_CLASS}]' THEN
            n := char_length(piece);
            FOR i IN 1 .. n - 1 LOOP
                result := result || ' ' || substr(piece, i, 2);
            END LOOP;
            result := result || ' ' || substr(piece, n, 1) || ' ';
        ELSE
            result := result || piece;
        END IF;
    END LOOP;
    RETURN result;
END
$$
"""
_BODY = "coalesce(title, '') || ' ' || coalesce(summary, '')"
_PG_WORDS = f"to_tsvector('simple', {_BODY})"
_PG_WORDS_AND_GRAMS = f"{_PG_WORDS} || to_tsvector('simple', chipwire_cjk_grams({_BODY}))"


def _pg_search_column(expression: str) -> list[str]:
    return [
        "DROP INDEX IF EXISTS ix_articles_search",
        "ALTER TABLE articles DROP COLUMN search",
        f"ALTER TABLE articles ADD COLUMN search tsvector GENERATED ALWAYS AS ({expression}) STORED",
        "CREATE INDEX ix_articles_search ON articles USING gin (search)",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_CREATE:
            op.execute(statement)
        _index_existing_sqlite()
        return
    op.execute(_GRAMS_FUNCTION)
    for statement in _pg_search_column(_PG_WORDS_AND_GRAMS):
        op.execute(statement)


def _index_existing_sqlite() -> None:
    conn = op.get_bind()
    rows = conn.execute(text("SELECT id, title, summary FROM articles"))
    grams = [
        {"id": row.id, "title": index_text(row.title), "summary": index_text(row.summary)}
        for row in rows
        if has_cjk(row.title) or has_cjk(row.summary)
    ]
    if grams:
        insert = (
            "INSERT INTO articles_fts_cjk(rowid, title, summary) VALUES (:id, :title, :summary)"
        )
        conn.execute(text(insert), grams)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DROP:
            op.execute(statement)
        return
    for statement in _pg_search_column(_PG_WORDS):
        op.execute(statement)
    op.execute("DROP FUNCTION IF EXISTS chipwire_cjk_grams(text)")
