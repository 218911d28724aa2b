"""The Python session shown in README.md (after ``<!-- python-example -->``) runs as written.

Until README.md carries the marker, the example in docs/python_example.md is run instead.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- python-example -->"


def example_code() -> str:
    """The first ```python block after the marker in README.md (else docs/python_example.md)."""
    for name in ("README.md", "docs/python_example.md"):
        path = ROOT / name
        if path.is_file() and MARKER in (text := path.read_text()):
            block = re.search(r"^```python\n(.*?)^```", text.split(MARKER, 1)[1],
                              re.DOTALL | re.MULTILINE)
            assert block, f"{name} has no ```python block after {MARKER}"
            return block.group(1)
    raise AssertionError(f"neither README.md nor docs/python_example.md has {MARKER}")


def test_python_example_runs(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(example_code(), "python-example", "exec"), {"__name__": "__example__"})
    assert list(tmp_path.glob("*.graphml")), "the example exports a graph to GraphML"
    assert capsys.readouterr().out.strip()
