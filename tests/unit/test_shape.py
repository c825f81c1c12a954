"""The shape of the code (issue 12, docs/architecture.md): short functions, no import cycle,
and one way to publish events. The layer contracts themselves run in ``make lint``
(import-linter, ``pyproject.toml``)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "sharecast"
#: Lines a function may have, its docstring excluded.
MAX_LINES = 60
#: Known exceptions (none today); each would need a reason next to it.
LONG_FUNCTIONS_ALLOWED: set[tuple[str, str]] = set()
#: The only modules that may touch the Pub/Sub publisher client (``.pubsub``): the context
#: builds it, the clients module makes it, and the outbox is its one user.
PUBSUB_MODULES = {"app.py", "clients.py", "outbox.py"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path))


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of ``node`` without its docstring."""
    assert node.end_lineno is not None
    total = node.end_lineno - node.lineno + 1
    first = node.body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        assert first.end_lineno is not None
        total -= first.end_lineno - first.lineno + 1
    return total


def test_no_function_is_longer_than_a_screen() -> None:
    long = {
        (name, node.name, body_lines(node))
        for name, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and body_lines(node) > MAX_LINES
    }
    assert {(name, fn) for name, fn, _ in long} <= LONG_FUNCTIONS_ALLOWED, sorted(long)


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("sharecast", include_external_packages=False)
    cycles = [
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    ]
    assert cycles == []


def test_only_the_outbox_touches_the_pubsub_publisher() -> None:
    users = {
        name
        for name, tree in modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("pubsub", "publisher")
    }
    assert users <= PUBSUB_MODULES
