"""progtheory.theory is the ground floor: it imports nothing else of the package and no torch,
so every other module may import it and it stays usable without them.  Checked on the source
(every import statement, function-level ones included), not by importing."""

import ast
from pathlib import Path

import progtheory.theory

THEORY = Path(progtheory.theory.__file__).parent
MODULES = sorted(THEORY.rglob("*.py"))


def _imports(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute name) of every import in `source`, a module of `package`; `from a import
    b` gives a.b, so `from progtheory import config` is caught as progtheory.config."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: level 1 is `package` itself, each further dot one up
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return out


def _outside(name: str) -> bool:
    """True for torch and for any part of progtheory other than progtheory.theory."""
    parts = name.split(".")
    return parts[0] == "torch" or (parts[0] == "progtheory" and parts[1:2] != ["theory"])


def test_every_theory_module_is_checked():
    assert {"compute", "growth_layout", "init_scale", "jolt", "options"} <= {p.stem for p in MODULES}


def test_theory_imports_nothing_else_of_the_package_and_no_torch():
    bad = []
    for path in MODULES:
        package = ".".join(("progtheory", *path.relative_to(THEORY.parent).parent.parts))
        bad += [f"{path.relative_to(THEORY.parent.parent)}:{line} imports {name}"
                for line, name in _imports(path.read_text(), package) if _outside(name)]
    assert not bad, "progtheory.theory may import only itself and numpy, scipy, sympy:\n" + "\n".join(bad)


def test_the_check_catches_every_form_of_import():
    for source in ("import torch", "from torch import nn", "import progtheory", "from progtheory import config",
                   "from progtheory.config import TrainConfig", "def f():\n    import progtheory.model",
                   "from .. import config", "from ..growth import expand"):
        assert any(_outside(n) for _, n in _imports(source, "progtheory.theory")), source
    inside = "from progtheory.theory import _args\nfrom . import jolt\nfrom .options import PLACEMENTS\nimport numpy"
    assert not any(_outside(n) for _, n in _imports(inside, "progtheory.theory"))
