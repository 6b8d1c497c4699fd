"""No import cycle among the modules of app/ (a new one fails this test).

Every import counts, at the top of a module or inside a function (a function-level
import that closes a cycle is a cycle hidden from the reader, not a fix); imports under
`if TYPE_CHECKING:` do not (they exist only for the type checker). `from a import b`
counts as importing the module `a.b` when there is one, else `a`.

KNOWN_BACK_EDGES lists the imports that still close a cycle, each with why it is still
there: the check removes them and requires what is left to have no cycle, so any new
cycle fails, and an entry that no longer closes a cycle fails too (delete it: the list
only shrinks). Issue #17 removes the rest (ports, one UnitOfWork, start-up registration).
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

KNOWN_BACK_EDGES: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    out: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if _type_checking_block(node):
            assert isinstance(node, ast.If)
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the app modules it imports."""
    files = {_module_name(p): p for p in APP.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                graph[module].update(a.name for a in node.names if a.name in files)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in files:
                    graph[module].add(full)
                elif base in files:
                    graph[module].add(base)
        graph[module].discard(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for w in graph[todo.pop()]:
            if w == goal:
                return True
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return False


def test_no_import_cycle_among_app_modules() -> None:
    graph = import_graph()
    rest = {
        m: {t for t in targets if (m, t) not in KNOWN_BACK_EDGES} for m, targets in graph.items()
    }
    found = cycles(rest)
    assert not found, (
        "import cycle(s) among app/ modules: move the shared code to a lower module "
        f"(see docs/architecture.md): {found}"
    )


def test_every_known_back_edge_still_closes_a_cycle() -> None:
    graph = import_graph()
    stale = [
        edge
        for edge in KNOWN_BACK_EDGES
        if edge[1] not in graph.get(edge[0], set()) or not _reaches(graph, edge[1], edge[0])
    ]
    assert not stale, f"no longer a cycle: delete from KNOWN_BACK_EDGES: {stale}"


def test_the_check_sees_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    graph = {"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}, "app.d": {"app.a"}}
    assert cycles(graph) == [["app.a", "app.b", "app.c"]]
    source = "def f():\n    from app import db\n\nif TYPE_CHECKING:\n    import app.main\n"
    imports = _imports(ast.parse(source))
    assert [type(n).__name__ for n in imports] == ["ImportFrom"]
