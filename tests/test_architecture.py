"""Imports follow the layers of docs/ARCHITECTURE.md, and no module imports itself round
a cycle.

Every module under station/ is read with ``ast`` (nothing is imported), so an import inside
a function counts as much as one at the top; relative imports are resolved. A failure
names the file, the line and the rule the import breaks.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "station"

# The foundation: importable from every layer, imports nothing above itself. `station` is
# the root package (its version); `kinds.spec` is the data contract (kinds, fields),
# which config, home and every layer read.
FOUNDATION = {"station", "station.log", "station.config", "station.home", "station.platform",
              "station.kinds.spec"}

# Layers above the foundation, bottom first. A package imports only packages in lower
# layers (and its own modules); packages in one layer do not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("formats", "normalise"),   # bytes to rows; pure field functions
    ("kinds",),                 # recognise and map rows (calls formats and normalise)
    ("register",),              # SQLite: schema, apply, queries
    ("inbox",),                 # one delivery end to end: formats → kinds → register
    ("rules",),
    ("review",),
    ("export",),
    ("demo",),                  # the demo county generator
    ("services",),              # the API the user interfaces call
    ("tui",),
    ("cli",),                   # may start the TUI
    ("__main__",),
]

# The user interfaces talk to services (and the foundation) only: no SQL, no business
# rules, and formatting helpers come re-exported from station.services.
INTERFACES = {"cli": {"services", "tui"}, "tui": {"services"}}
NO_SQLITE = {"cli", "tui"}


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("station",) + path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports_of(name: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import in module ``name``: a ``from X import y``
    counts as an import of ``X.y`` when that is a module, else of ``X``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                if not base:
                    raise AssertionError(f"{path}:{node.lineno}: relative import above the station package")
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in MODULES else target, node.lineno))
    return sorted(set(found), key=lambda f: (f[1], f[0]))


def package_of(module: str) -> str:
    """'foundation' or the name of the package (the first part below ``station``)."""
    if module in FOUNDATION:
        return "foundation"
    return module.split(".")[1]


RANK = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
LAYER_TEXT = " → ".join("/".join(layer) for layer in LAYERS)


def _where(name: str, line: int) -> str:
    return f"{MODULES[name].relative_to(ROOT.parent)}:{line}"


def layer_violations() -> list[str]:
    problems = []
    for name in MODULES:
        pkg = package_of(name)
        if pkg != "foundation" and pkg not in RANK:
            problems.append(f"{_where(name, 1)}: package '{pkg}' is in no layer — add it to LAYERS in "
                            f"tests/test_architecture.py and to the layer order in docs/ARCHITECTURE.md")
            continue
        for target, line in imports_of(name):
            if target == "sqlite3" and pkg in NO_SQLITE:
                problems.append(f"{_where(name, line)}: {name} imports sqlite3 — the {pkg} has no SQL; "
                                f"ask station.services (it classifies storage errors too)")
                continue
            if not (target == "station" or target.startswith("station.")):
                continue
            if target not in MODULES:
                problems.append(f"{_where(name, line)}: {name} imports {target}, which does not exist")
                continue
            to = package_of(target)
            if to == pkg or to == "foundation":
                continue
            if pkg == "foundation":
                problems.append(f"{_where(name, line)}: {name} is in the foundation and imports {target} "
                                f"(package '{to}'): the foundation imports only the foundation "
                                f"({', '.join(sorted(FOUNDATION))})")
            elif pkg in INTERFACES and to not in INTERFACES[pkg]:
                problems.append(f"{_where(name, line)}: {name} imports {target}: the {pkg} imports only "
                                f"{' and '.join(sorted(INTERFACES[pkg]))} and the foundation — "
                                f"re-export what it needs from station.services")
            elif RANK[to] >= RANK[pkg]:
                how = "the same layer as" if RANK[to] == RANK[pkg] else "above"
                problems.append(f"{_where(name, line)}: {name} imports {target}, but '{to}' is {how} "
                                f"'{pkg}' (layers, bottom first: foundation → {LAYER_TEXT})")
    return problems


def import_cycles() -> list[list[str]]:
    """Strongly connected components (Tarjan) of more than one module, and self-imports."""
    graph = {name: sorted({t for t, _ in imports_of(name) if t in MODULES}) for name in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:        # recursive: the graph is a few hundred modules
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
            if len(component) > 1 or v in graph[v]:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


def _cycle_text(component: list[str]) -> str:
    members = set(component)
    edges = [f"  {_where(a, line)}: {a} → {t}" for a in component for t, line in imports_of(a)
             if t in members]
    return "cycle between " + ", ".join(component) + ":\n" + "\n".join(edges)


def test_imports_follow_the_layers():
    problems = layer_violations()
    assert not problems, "imports against the layers of docs/ARCHITECTURE.md:\n" + "\n".join(problems)


def test_no_import_cycles():
    cycles = import_cycles()
    assert not cycles, "import cycles (break them: move the shared piece down):\n" + \
        "\n".join(_cycle_text(c) for c in cycles)


def test_layer_order_is_the_documented_one():
    doc = (ROOT.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert f"foundation → {LAYER_TEXT}" in doc, \
        f"docs/ARCHITECTURE.md should state the layer order this test enforces: foundation → {LAYER_TEXT}"


# The checker itself: each rule fires on a made-up import, so the tests above can fail.

def test_checker_catches_an_upward_import(monkeypatch, tmp_path):
    _fake(monkeypatch, tmp_path, {
        "register/__init__.py": "", "register/x.py": "def f():\n    from ..rules import engine\n",
        "rules/__init__.py": "", "rules/engine.py": ""})
    problems = layer_violations()
    assert len(problems) == 1 and "station/register/x.py:2" in problems[0] and "'rules' is above 'register'" \
        in problems[0], problems


def test_checker_catches_sqlite_and_lower_packages_in_the_interfaces(monkeypatch, tmp_path):
    _fake(monkeypatch, tmp_path, {
        "tui/__init__.py": "", "tui/app.py": "import sqlite3\nfrom station.review import log\n",
        "review/__init__.py": "", "review/log.py": "", "services/__init__.py": "",
        "cli/__init__.py": "from ..services import x\nfrom ..tui import app\n", "services/x.py": ""})
    problems = layer_violations()
    assert len(problems) == 2, problems
    assert "tui/app.py:1" in problems[0] and "sqlite3" in problems[0]
    assert "tui/app.py:2" in problems[1] and "station.review.log" in problems[1]


def test_checker_catches_cycles_inside_a_package(monkeypatch, tmp_path):
    _fake(monkeypatch, tmp_path, {
        "tui/__init__.py": "", "tui/a.py": "from .b import x\n", "tui/b.py": "def g():\n    from . import a\n"})
    assert import_cycles() == [["station.tui.a", "station.tui.b"]]
    assert "station/tui/b.py:2: station.tui.b → station.tui.a" in _cycle_text(import_cycles()[0])


def _fake(monkeypatch, tmp_path, files: dict[str, str]) -> None:
    root = tmp_path / "station"
    for rel, text in {"__init__.py": "", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    monkeypatch.setitem(globals(), "ROOT", root)
    monkeypatch.setitem(globals(), "MODULES", _modules())
