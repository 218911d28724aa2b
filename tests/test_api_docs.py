"""The API reference (docs/api, Sphinx autodoc + napoleon) builds with warnings as errors."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="sphinx is in the test extra")
DOCS = Path(__file__).resolve().parents[1] / "docs" / "api"


@pytest.mark.slow
def test_the_api_reference_builds_without_warnings(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("conf.py", "index.rst"):  # autosummary writes its pages beside the sources
        shutil.copy(DOCS / name, source / name)
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                           "-b", "html", str(source), str(tmp_path / "html")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    pages = tmp_path / "html" / "generated"
    for module in ("infoflow.record", "infoflow.report", "infoflow.compare",
                   "trainers.a3c.run_state", "trainers.experiment", "trainers.models.kinds.base"):
        assert (pages / f"{module}.html").is_file(), module
    page = (pages / "infoflow.record.html").read_text()
    assert "Play" in page and "episodes" in page  # the docstring of record(), rendered
