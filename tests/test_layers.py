"""The layer order, enforced: a module imports only from its own layer or the layers below.

models/text → settings → ops → store → ingest/classify/trends → digest → commands → platforms →
app/jobs → run/cli/demo. Every `import` counts, `TYPE_CHECKING` and function-level ones too: a
lazy import still climbs a layer. Each outside library has its one importer (or one folder).
Outside `bot/store/` nothing touches a database engine: the Store's methods are the way in.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bot"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("bot.models", "bot.text", "bot.tomlfile"),
    ("bot.settings",),
    ("bot.ops",),
    ("bot.store",),
    ("bot.ingest", "bot.classify", "bot.trends"),
    ("bot.digest",),
    ("bot.commands",),
    ("bot.platforms",),
    ("bot.app", "bot.jobs"),
    ("bot.run", "bot.cli", "bot.demo", "bot.__main__"),
)

# Modules whose own imports put them below their folder's layer, and why they live where they do.
PLACED: dict[str, str] = {
    # Pure schedule and time-zone rules (stdlib only): settings validates with them.
    "bot.digest.schedules": "bot.models",
    # Story clustering: ingest stores story keys and classify/evaluate scores the clustering.
    "bot.digest.stories": "bot.ingest",
    # The part journal a poster keeps (stdlib only): the digest delivery writes it.
    "bot.platforms.journal": "bot.models",
}

# Each outside library and the only modules (or folders, ending in "/") that may import it.
IMPORTERS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("feedparser",): ("ingest/parse/feedparser.py",),
    ("tomllib",): ("tomlfile.py",),
    ("prometheus_client",): ("ops/metrics.py",),
    ("matplotlib",): ("trends/chart.py",),
    ("discord",): ("platforms/discord/",),
    ("slack_bolt", "slack_sdk"): ("platforms/slack/",),
    # The database stack: the Store is the only way in.
    ("sqlalchemy", "alembic", "aiosqlite", "asyncpg", "sqlite3"): ("store/",),
}
# A platform's render.py is pure: it never imports its platform's SDK.
PURE_RENDERERS = ("platforms/discord/render.py", "platforms/slack/render.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def rank(module: str) -> int | None:
    module = PLACED.get(module, module)
    for index, names in enumerate(LAYERS):
        if any(module == name or module.startswith(name + ".") for name in names):
            return index
    return None


def imports(path: Path) -> Iterator[tuple[str, int]]:
    yield from _imports(path, path.stat().st_mtime_ns)


@functools.cache  # each test reads the whole tree; a file changed since is read again
def _imports(path: Path, _mtime: int) -> tuple[tuple[str, int], ...]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
    return tuple(found)


def wrong_imports(package: Path = PACKAGE) -> list[str]:
    wrong = []
    for path in sorted(package.rglob("*.py")):
        source = module_name(path)
        if source == "bot":
            continue
        own = rank(source)
        for target, line in imports(path):
            if target != "bot" and not target.startswith("bot."):
                continue
            theirs = rank(target)
            if own is None or theirs is None or theirs > own:
                wrong.append(f"{path.relative_to(package)}:{line} {source} imports {target}")
    return wrong


def test_every_module_has_a_layer() -> None:
    unplaced = [module_name(p) for p in PACKAGE.rglob("*.py") if rank(module_name(p)) is None]
    assert [m for m in unplaced if m != "bot"] == []


def test_imports_follow_the_layer_order() -> None:
    assert wrong_imports() == []


def test_placed_modules_exist() -> None:
    for module in PLACED:
        path = PACKAGE.parent / (module.replace(".", "/") + ".py")
        assert path.exists(), module


@pytest.mark.parametrize("libraries", list(IMPORTERS), ids=lambda names: "+".join(names))
def test_each_outside_library_has_its_one_importer(libraries: tuple[str, ...]) -> None:
    allowed = IMPORTERS[libraries]
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        if any(name.split(".")[0] in libraries for name, _ in imports(path)):
            importers.add(path.relative_to(PACKAGE).as_posix())
    assert importers, f"nothing imports {libraries}: the table is stale"
    stray = {p for p in importers if not any(p == a or p.startswith(a) for a in allowed if a)}
    assert stray == set()
    assert not importers & set(PURE_RENDERERS)


def engine_uses(package: Path = PACKAGE) -> list[str]:
    """Every `x.engine` outside bot/store/: the engine is the Store's own business."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "engine":
                found.append(f"{relative}:{node.lineno}")
    return found


def test_no_engine_outside_the_store() -> None:
    assert engine_uses() == []


def test_engine_uses_are_found(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "repo.py").write_text("self.engine = engine\n")
    (tmp_path / "cli.py").write_text("async def f(app):\n    return app.store.engine\n")
    assert engine_uses(tmp_path) == ["cli.py:2"]


def dialect_branches(package: Path = PACKAGE) -> list[str]:
    """Comparisons with a database's name outside store/dialect.py (migrations are history)."""
    names = {"sqlite", "postgresql"}
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative == "store/dialect.py" or relative.startswith("store/migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Constant) and s.value in names for s in sides):
                    found.append(f"{relative}:{node.lineno}")
    return found


def test_sqlite_and_postgresql_differ_in_one_file() -> None:
    assert dialect_branches() == []


def test_dialect_branches_are_found(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "dialect.py").write_text("ONE = name == 'sqlite'\n")
    (tmp_path / "store" / "outbox.py").write_text(
        "if conn.dialect.name == 'postgresql':\n    pass\n"
    )
    assert dialect_branches(tmp_path) == ["store/outbox.py:1"]
