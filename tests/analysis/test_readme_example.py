"""The Python session in README.md (the ``pycon`` block after ``<!-- python-example -->``)
runs as written and prints what it shows."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- python-example -->"


def readme_session() -> str:
    """The first ```pycon block after the marker in README.md."""
    text = README.read_text()
    assert MARKER in text, f"README.md lost its {MARKER} marker"
    block = re.search(r"^```pycon\n(.*?)^```", text.split(MARKER, 1)[1], re.DOTALL | re.MULTILINE)
    assert block, f"README.md has no ```pycon block after {MARKER}"
    return block.group(1)


def test_readme_session_prints_what_it_shows(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(readme_session(), {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, "README's Python session printed something else (see above)"
    assert runner.tries >= 8
    assert (tmp_path / "graph.graphml").is_file()
