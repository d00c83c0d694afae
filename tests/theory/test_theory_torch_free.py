"""The theory package never imports torch."""

import pkgutil
import subprocess
import sys

import progtheory.theory


def test_every_theory_module_imports_without_torch():
    names = [f"progtheory.theory.{m.name}" for m in pkgutil.iter_modules(progtheory.theory.__path__)]
    assert {"progtheory.theory.compute", "progtheory.theory.bounds", "progtheory.theory.timing"} <= set(names)
    code = ("import sys, importlib\n"
            f"for n in {names!r}: importlib.import_module(n)\n"
            "import progtheory; progtheory.predict_lr; progtheory.param_count\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
