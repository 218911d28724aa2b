"""Shared helpers of the CLI tests: a tiny training set-up, invoking the CLI, one-line errors.

Imported by the test modules as ``cli_support`` (``tests/`` is on pytest's ``pythonpath``).
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from cli.main import cli

TINY_MAP = "@@@@@@\n@P A @\n@AA P@\n@@@@@@"
TINY = [
    "--game", "harvest", "--n-envs", "2", "--workers", "1", "--seed", "3",
    "-s", "env.config.n_agents=2", "-s", "env.config.view_radius=2",
    "-s", "env.config.horizon=10", "-s", "model.hidden_size=8", "-s", "model.fc_sizes=[8]",
    "-s", "model.influencers=1", "-s", "trainer.rollout_length=5",
    "-s", "logging.episode_every=1", "-s", "logging.tensorboard=false",
]
"""`infoflow train` options of a run that takes a second (2 agents, 2 copies, 10 steps)."""
MAP = ["-s", f"env.map={TINY_MAP}"]
"""The tiny map as an option (a --map is overridden by -s env.map)."""


def run(*args) -> Result:
    """Invoke the ``infoflow`` command in-process with ``args`` (converted to str)."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_line(result: Result) -> str:
    """The one line of a bad-input failure: exit 2, ``Error: ...`` on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stdout == "", result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def tree(*folders: Path) -> dict:
    """Every file and folder below ``folders`` (hidden ones too), with the files' bytes."""
    return {str(p): (p.read_bytes() if p.is_file() else None)
            for folder in folders for p in sorted(Path(folder).rglob("*"))}
