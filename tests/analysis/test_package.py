"""The analysis layer stands alone: no torch, no trainers, and a documented public API."""

import subprocess
import sys

import infoflow


def test_analysis_layer_imports_neither_torch_nor_trainers():
    code = (
        "import sys, infoflow, infoflow.analysis, infoflow.graph, infoflow.plots\n"
        "heavy = [m for m in ('torch', 'trainers', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_resolve():
    for name in infoflow.__all__:
        assert getattr(infoflow, name) is not None, name
    assert infoflow.__version__.count(".") >= 2
