"""The layers of docs/architecture.md, checked against the imports: a module imports only from its own
layer or the ones below it, and the top-level packages import one another without cycles.

Imports under ``TYPE_CHECKING`` count too: a type named from an upper layer is a dependency a reader sees.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gentrade"

# Top to bottom, as in docs/architecture.md's diagram. Each entry is a top-level module or package of gentrade.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__init__", "app", "cli", "stack", "demo"}),  # entry points
    frozenset({"blueprints", "schemas", "auth", "errors", "tasks"}),  # HTTP in, Celery in
    frozenset({"services"}),  # use cases: own the transaction, check ownership, publish work
    frozenset({"runtime", "work_queue"}),  # per-app collaborators services reach without a request; sending work
    frozenset({"agents"}),  # the conversation: drafts, card edits, code generation by a model
    frozenset({"strategies"}),  # drafts, review, code generation, checks of strategy code
    frozenset({"freqtrade", "exchange_sim"}),  # running Freqtrade, market data, the exchange stand-in
    frozenset(  # no knowledge of the layers above
        {
            "models",
            "extensions",
            "database",
            "settings",
            "metrics",
            "identity",
            "tokens",
            "devkeys",
            "timeframes",
            "process_guard",
            "samples",
            "sse_reader",
            "request_ids",
        }
    ),
)
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}
# Files that are entry points inside a lower package: ``celery -A gentrade.tasks`` builds the Flask app there.
ENTRY_FILES = {Path("tasks/__init__.py"): "__init__"}


def _top_level(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    if relative in ENTRY_FILES:
        return ENTRY_FILES[relative]
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _module_or_package(name: str) -> str:
    """``from gentrade import create_app`` names the package's own ``__init__``, not a module."""
    return name if (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file() else "__init__"


def _imported(tree: ast.AST) -> set[str]:
    """The top-level gentrade modules a module's imports name (``from gentrade import x`` names ``x``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "gentrade":
                continue
            if len(parts) > 1:
                names.add(parts[1])
            else:
                names.update(_module_or_package(alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("gentrade."))
    return names


def _edges() -> dict[str, dict[str, set[str]]]:
    """importer's top level -> imported top level -> the files that import it."""
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _top_level(path)
        for imported in _imported(ast.parse(path.read_text(), str(path))):
            if imported != importer:
                edges[importer][imported].add(str(path.relative_to(PACKAGE.parent)))
    return edges


def test_every_module_has_a_layer() -> None:
    tops = {_top_level(path) for path in PACKAGE.rglob("*.py")}
    assert tops - RANK.keys() == set(), "add the new module to LAYERS here and to docs/architecture.md"


def test_imports_point_down() -> None:
    upward = [
        f"{file}: {importer} imports {imported}"
        for importer, targets in _edges().items()
        for imported, files in targets.items()
        if RANK[imported] < RANK[importer]
        for file in sorted(files)
    ]
    assert upward == []


@pytest.mark.parametrize("layer", [layer for layer in LAYERS if len(layer) > 1], ids=lambda layer: min(layer))
def test_no_cycles_within_a_layer(layer: frozenset[str]) -> None:
    edges = _edges()
    graph = {name: {target for target in edges.get(name, {}) if target in layer} for name in layer}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        assert name not in visiting, f"import cycle: {' -> '.join([*visiting[visiting.index(name) :], name])}"
        if name in done:
            return
        visiting.append(name)
        for target in graph[name]:
            visit(target)
        visiting.pop()
        done.add(name)

    for name in sorted(layer):
        visit(name)


def test_services_reach_celery_only_through_the_publishing_module() -> None:
    """Celery's app is configured by ``tasks``; services publish work through one narrow function."""
    offenders = sorted(
        str(path.relative_to(PACKAGE.parent))
        for path in (PACKAGE / "services").rglob("*.py")
        if "tasks" in _imported(ast.parse(path.read_text()))
    )
    assert offenders == []


def test_blueprints_do_not_query() -> None:
    """Blueprints speak HTTP; the database is the services' (they own the transaction)."""
    offenders = sorted(
        str(path.relative_to(PACKAGE.parent))
        for path in (PACKAGE / "blueprints").rglob("*.py")
        if {"extensions", "database"} & _imported(ast.parse(path.read_text())) or "sqlalchemy" in path.read_text()
    )
    assert offenders == []
