"""The package's shape: imports run one way, from the torch-free theory up to the command line,
with no cycle between modules; and no module or function grows past what a reader takes in at
once (450 lines a module, 60 a function, the def line through the last line).

Imports are read from the source with `ast` (every import statement, those inside functions
too, except under `if TYPE_CHECKING:`), so nothing is imported to check them.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "progtheory"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60

# The floors, ground first: a module may import modules of its own floor and of those below.
FLOORS = ("theory", "config, presets, data", "core", "train", "sweep", "analysis", "report",
          "figures, bench, planner, cli")

# progtheory.<name>[.<sub>] -> its floor.  The root package names its public exports and imports
# them lazily, so it is ground.
FLOOR_OF = {
    "progtheory": 0, "theory": 0,
    "config": 1, "presets": 1, "data": 1,
    "core": 2,
    "train": 3,
    "sweep": 4,
    "analysis": 5,
    "report": 6,
    "figures": 7, "bench": 7, "planner": 7, "cli": 7,
}

# Known offenders, each to be removed from its list once fixed (a test fails on a stale entry).
UPWARD_IMPORTS: set[tuple[str, str]] = set()  # (importer, imported)
LONG_MODULES: set[str] = set()
LONG_FUNCTIONS: set[str] = set()


def _modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOOR_OF.get(parts[1] if len(parts) > 1 else parts[0])


def _runtime_imports(tree: ast.AST):
    """Import statements that run: all but those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_imports(ast.Module([child], [])))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _runtime_imports(node)


def _resolve(name: str, modules) -> str | None:
    """The longest prefix of `name` that is a module of the package."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def _imports(module: str, path: Path, modules) -> list[tuple[str, int]]:
    """(imported module of the package, line) for every import statement of `module`;
    `from pkg import sub` counts as importing the submodule when there is one."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        out += [(target, node.lineno) for name in names if (target := _resolve(name, modules))]
    return out


def _graph() -> dict[str, list[tuple[str, int]]]:
    modules = _modules()
    return {m: [(t, line) for t, line in _imports(m, p, modules) if t != m] for m, p in modules.items()}


def _upward() -> dict[tuple[str, str], int]:
    return {(m, t): line for m, edges in _graph().items() for t, line in edges
            if None not in (_floor(m), _floor(t)) and _floor(t) > _floor(m)}


def _long_modules() -> dict[str, int]:
    lengths = {_rel(p): len(p.read_text().splitlines()) for p in _modules().values()}
    return {path: n for path, n in lengths.items() if n > MAX_MODULE_LINES}


def _long_functions() -> dict[str, int]:
    out = {}

    def visit(node, path, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                n = child.end_lineno - child.lineno + 1
                if not isinstance(child, ast.ClassDef) and n > MAX_FUNCTION_LINES:
                    out[f"{path}::{name}"] = n
                visit(child, path, name + ".")
            else:
                visit(child, path, prefix)

    for p in _modules().values():
        visit(ast.parse(p.read_text()), _rel(p), "")
    return out


def test_every_module_stands_on_a_named_floor():
    unplaced = sorted(m for m in _modules() if _floor(m) is None)
    assert not unplaced, (f"modules without a floor: {unplaced}; add their name to FLOOR_OF with the floor "
                          f"they belong to ({', '.join(f'{i}: {f}' for i, f in enumerate(FLOORS))})")


def test_imports_never_go_up_a_floor():
    found = {edge: line for edge, line in _upward().items() if edge not in UPWARD_IMPORTS}
    lines = [f"{m} (line {line}, floor {FLOORS[_floor(m)]}) imports {t} (floor {FLOORS[_floor(t)]})"
             for (m, t), line in sorted(found.items())]
    assert not lines, ("imports that go up a floor; move the shared code down or the importer up:\n"
                       + "\n".join(lines))


def test_no_two_modules_import_each_other_in_a_circle():
    graph = {m: sorted({t for t, _ in edges}) for m, edges in _graph().items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def connect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            connect(v)
    assert not cycles, "modules that import each other, directly or through others: " + "; ".join(
        " <-> ".join(c) for c in cycles)


def test_no_module_is_over_450_lines():
    over = {path: n for path, n in _long_modules().items() if path not in LONG_MODULES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines; split them by concern: {over}"


def test_no_function_is_over_60_lines():
    over = {name: n for name, n in _long_functions().items() if name not in LONG_FUNCTIONS}
    assert not over, f"functions over {MAX_FUNCTION_LINES} lines (def line to last line); split them: {over}"


def test_the_lists_of_known_offenders_hold_only_current_ones():
    stale = {
        "UPWARD_IMPORTS": sorted(UPWARD_IMPORTS - set(_upward())),
        "LONG_MODULES": sorted(LONG_MODULES - set(_long_modules())),
        "LONG_FUNCTIONS": sorted(LONG_FUNCTIONS - set(_long_functions())),
    }
    stale = {name: entries for name, entries in stale.items() if entries}
    assert not stale, f"fixed or gone, so remove them from their list: {stale}"
