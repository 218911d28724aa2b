"""The run directory: resolved config, checkpoints, metrics, trajectory store, README line.

Layout (SPEC 3, "Run directory")::

    RUN/
      README               how the run was started (one command line per start or resume)
      config.toml          the resolved config (every field, the exact game)
      checkpoints/         ckpt_<agent steps>.pt, atomic writes, the newest K kept
      metrics.csv          one row per finished worker episode
      rollouts.csv         one row per ``logging.progress_rollouts`` rollouts of a worker
      trajectories.zarr    logged episodes (infoflow.trajectory schema)
      events.*             TensorBoard events, only when ``tensorboard`` is installed

Checkpoints are plain dictionaries of tensors, numbers and strings, written with
:func:`torch.save` to a temporary file, flushed to disk (``fsync``) and moved into place with
:func:`os.replace` (then the folder is synced); stale temporary files from an interrupted write
are removed when a run starts or resumes. They are read with
``torch.load(..., weights_only=True)``: never arbitrary pickles.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import pickle
import re
import shlex
import shutil
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from trainers.errors import NoSpaceError

__all__ = ["RunDir", "RunDirInUse", "NoSpaceError", "MetricsWriter", "DirectorySnapshot",
           "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = 1
"""Value of a checkpoint's ``format`` entry written by this version."""

_CKPT = re.compile(r"^ckpt_(\d+)\.pt$")


def _tensor_bytes(obj: Any) -> int:
    """Bytes of every tensor in a nested mapping / sequence."""
    if isinstance(obj, torch.Tensor):
        return obj.element_size() * obj.nelement()
    if isinstance(obj, Mapping):
        return sum(_tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_tensor_bytes(v) for v in obj)
    return 0


class RunDirInUse(FileExistsError):
    """Another run claimed the directory first (between the check and the creation)."""


class RunDir:
    """A run directory on disk.

    Parameters
    ----------
    path : str or Path
        The directory.
    resume : bool
        False: the directory must not exist yet or be empty (it is created). True: it must
        hold a run (``config.toml``; without a checkpoint it restarts from step 0).
    """

    def __init__(self, path: str | Path, resume: bool = False) -> None:
        self.path = Path(path)
        self.check(self.path, resume)
        if not resume:  # claim it: of two runs racing for one directory, one creates
            self.path.mkdir(parents=True, exist_ok=True)  # checkpoints/, the other stops here
            try:
                self.checkpoint_dir.mkdir()
            except FileExistsError:
                raise RunDirInUse(
                    f"run directory {str(self.path)!r} was just taken by another run; "
                    "choose another --out") from None
        self.checkpoint_dir.mkdir(exist_ok=True)
        for stale in self.checkpoint_dir.glob("*.tmp"):  # left by an interrupted write
            stale.unlink(missing_ok=True)

    @staticmethod
    def check(path: str | Path, resume: bool = False) -> Path | None:
        """Raise as :class:`RunDir` would, without creating or touching anything.

        Returns
        -------
        Path or None
            On ``resume`` the newest checkpoint (None: a run killed before its first
            checkpoint, to restart from step 0 in place); otherwise None.
        """
        path = Path(path)
        if resume:
            if not (path / "config.toml").is_file():
                raise FileNotFoundError(
                    f"{str(path)!r} holds no run (no config.toml); check --out, or "
                    "start a new run without --resume"
                )
            found = _checkpoints_in(path / "checkpoints")
            return found[-1] if found else None  # killed before its first checkpoint: step 0
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise FileExistsError(
                f"run directory {str(path)!r} already exists; pass --resume to "
                "continue it, or choose another --out"
            )
        return None

    def _no_space(self, need: int, free: int) -> str:
        return (f"not enough free disk space for a checkpoint in {str(self.checkpoint_dir)!r} "
                f"(it needs about {need / 2**20:,.1f} MiB, {free / 2**20:,.1f} MiB free); free "
                "some space, then continue the run with --resume")

    # -- files ------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        """``config.toml``."""
        return self.path / "config.toml"

    @property
    def checkpoint_dir(self) -> Path:
        """``checkpoints/``."""
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        """``metrics.csv``."""
        return self.path / "metrics.csv"

    @property
    def rollouts_path(self) -> Path:
        """``rollouts.csv``."""
        return self.path / "rollouts.csv"

    @property
    def trajectories_path(self) -> Path:
        """``trajectories.zarr``."""
        return self.path / "trajectories.zarr"

    def write_config(self, toml_text: str) -> None:
        """Write the resolved config (atomically)."""
        _atomic_write_text(self.config_path, toml_text)

    def append_readme(self, argv: list[str] | None = None) -> None:
        """Append the time, the package version and the command line that started (or
        resumed) the run to ``README``."""
        argv = list(sys.argv if argv is None else argv)
        if argv and argv[0].endswith(("infoflow", "main.py", "__main__.py")):
            argv[0] = "infoflow"
        from infoflow import __version__

        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(self.path / "README", "a", encoding="utf-8") as f:
            f.write(f"{stamp}  (infoflow {__version__})  {shlex.join(argv)}\n")

    # -- checkpoints ------------------------------------------------------------------------

    def checkpoints(self) -> list[Path]:
        """Checkpoint files, oldest first (ordered by agent steps)."""
        return _checkpoints_in(self.checkpoint_dir)

    def latest_checkpoint(self) -> Path | None:
        """The newest checkpoint, or None."""
        found = self.checkpoints()
        return found[-1] if found else None

    def save_checkpoint(self, state: Mapping[str, Any], agent_steps: int, keep: int) -> Path:
        """Write ``state`` as ``ckpt_<agent_steps>.pt`` atomically; keep the newest ``keep``.

        Parameters
        ----------
        state : mapping
            Tensors, numbers, strings and nested dicts/lists of them.
        agent_steps : int
            The run's agent-step counter (names the file).
        keep : int
            Checkpoints to keep (>= 1); older ones are deleted.
        """
        target = self.checkpoint_dir / f"ckpt_{agent_steps:013d}.pt"
        tmp = target.with_name(target.name + ".tmp")
        need = _tensor_bytes(state) + 2**20  # the tensors, plus room for the rest
        free = shutil.disk_usage(self.checkpoint_dir).free
        if free < need:
            raise NoSpaceError(self._no_space(need, free))
        try:
            with open(tmp, "wb") as f:
                torch.save(dict(state), f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:
                raise NoSpaceError(self._no_space(need, 0)) from None
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.checkpoint_dir)
        for old in self.checkpoints()[:-keep]:
            old.unlink(missing_ok=True)
        return target


def checkpoint_file(path: str | Path) -> Path:
    """The checkpoint file :func:`load_checkpoint` reads for ``path``: ``path`` itself, or the
    newest ``ckpt_<steps>.pt`` of a run directory (or of its ``checkpoints/`` folder).

    Raises
    ------
    FileNotFoundError
        No such file, or a folder without checkpoints.
    """
    path = Path(path)
    if path.is_dir():  # a run directory (or its checkpoints/): the newest checkpoint
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        found = _checkpoints_in(folder)
        if not found:
            raise FileNotFoundError(f"no checkpoint in {str(path)!r}; pass a run directory "
                                    "or a checkpoint file")
        path = found[-1]
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist; check the path")
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :meth:`RunDir.save_checkpoint` (``weights_only=True``).

    ``path`` is a checkpoint file or a run directory (its newest checkpoint, see
    :func:`checkpoint_file`). Files holding pickled Python objects (anything beyond tensors,
    numbers, strings and containers of them) are refused, never unpickled.

    Raises
    ------
    FileNotFoundError
        No such file.
    PermissionError
        The file cannot be read.
    ValueError
        Not a checkpoint of this format: damaged, cut short, not weights-only, or foreign.
        Each message is one line naming the file.
    """
    path = checkpoint_file(path)
    name = repr(str(path))
    fix = ("pass a checkpoint written by infoflow train (on --resume: move this file out of "
           "the run's checkpoints/ folder to continue from the one before)")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" not in str(exc).lower():
            raise ValueError(f"{name} is not a readable infoflow checkpoint (damaged or not "
                             f"written by torch.save: {_first_line(exc)}); {fix}") from None
        raise ValueError(  # torch's advice (weights_only=False) is deliberately not repeated
            f"{name} is not a readable infoflow checkpoint: it is not weights-only (it holds "
            f"pickled Python objects, and infoflow never unpickles); {fix}") from None
    except PermissionError as exc:
        raise PermissionError(f"cannot read checkpoint {name} ({exc.strerror}); check the "
                              "file's permissions") from None
    except Exception as exc:  # corrupt, cut short, or not a torch file at all
        raise ValueError(f"{name} is not a readable infoflow checkpoint (damaged, cut short or "
                         f"not written by torch.save: {_first_line(exc)}); {fix}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{name} is not an infoflow checkpoint (format {CHECKPOINT_FORMAT}); "
                         f"{fix}")
    return state


def _first_line(exc: BaseException, limit: int = 120) -> str:
    """``exc``'s message cut to its first line (at most ``limit`` characters), or its type."""
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not text:
        return type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


__all__ += ["load_checkpoint", "checkpoint_file"]


def _checkpoints_in(folder: Path) -> list[Path]:
    """``ckpt_<steps>.pt`` files in ``folder``, oldest first; [] when it does not exist."""
    if not folder.is_dir():
        return []
    found = []
    for p in folder.glob("ckpt_*.pt"):
        m = _CKPT.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable; best effort (some platforms cannot fsync a dir)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _before(row: list[str], columns: list[str], episodes: list[int]) -> bool:
    """Whether a metrics row is whole and reports an episode finished before the checkpoint
    (``episode < episodes[worker]``); rows without those columns are kept when whole."""
    if len(row) != len(columns):
        return False
    fields = dict(zip(columns, row, strict=True))
    if not all(fields[c].isdigit() for c in ("agent_steps", "worker", "episode") if c in fields):
        return False
    if "worker" not in fields or "episode" not in fields:
        return True
    worker, episode = int(fields["worker"]), int(fields["episode"])
    return worker < len(episodes) and episode < episodes[worker]


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


class MetricsWriter:
    """``metrics.csv`` (and TensorBoard scalars when available), one row per call.

    The columns are fixed by the first row (or by the existing file's header when a run is
    resumed); later keys outside them are dropped, missing ones written empty.

    Parameters
    ----------
    path : Path
        The CSV file (appended to if it exists).
    tensorboard_dir : Path, optional
        Where to write TensorBoard events; ignored when ``tensorboard`` is not importable.
    keep_episodes : list of int, optional
        On resume: the resumed checkpoint's ``episodes`` (per worker, the episodes finished
        before it). Existing rows of later episodes (finished after the checkpoint, about to be
        played again) are dropped first, and so is a line cut short by a crash.
    """

    def __init__(self, path: Path, tensorboard_dir: Path | None = None,
                 keep_episodes: list[int] | None = None) -> None:
        self.path = Path(path)
        self.columns: list[str] | None = None
        if self.path.is_file() and self.path.stat().st_size > 0:
            with open(self.path, newline="", encoding="utf-8") as f:
                text = f.read()
            rows = list(csv.reader(io.StringIO(text)))
            self.columns = rows[0] if rows else None
            if keep_episodes is not None and self.columns:
                kept = [r for r in rows[1:] if _before(r, self.columns, keep_episodes)]
                if len(kept) < len(rows) - 1 or not text.endswith("\n"):
                    _atomic_write_text(self.path, _csv_text([self.columns, *kept]))
        self._file = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        self._tb = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard not installed: CSV only
                SummaryWriter = None
            if SummaryWriter is not None:
                self._tb = SummaryWriter(str(tensorboard_dir))

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one row; numbers are written with full precision."""
        if self.columns is None:
            self.columns = list(row)
            csv.writer(self._file).writerow(self.columns)
        values = []
        for c in self.columns:
            v = row.get(c, "")
            values.append(repr(v) if isinstance(v, float) and math.isfinite(v) else v)
        csv.writer(self._file).writerow(values)
        self._file.flush()
        if self._tb is not None:
            step = int(row.get("agent_steps", 0))
            for key, value in row.items():
                if isinstance(value, (int, float)) and key != "agent_steps":
                    self._tb.add_scalar(key, value, step)

    def close(self) -> None:
        """Close the file (and the TensorBoard writer)."""
        self._file.close()
        if self._tb is not None:
            self._tb.close()


@dataclass
class DirectorySnapshot:
    """What a run directory held before a run set it up, to undo a failed set-up.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "new" / "run"
    >>> before = DirectorySnapshot.take(out)
    >>> (out / "checkpoints").mkdir(parents=True)
    >>> before.restore()
    >>> out.parent.exists()
    False
    """

    path: Path
    missing: list[Path]          # the directory and its missing parents, deepest first
    entries: set[str]            # names in the directory
    files: dict[str, bytes]      # README and config.toml as they were

    @classmethod
    def take(cls, path: str | Path) -> DirectorySnapshot:
        """The state of ``path`` now (a directory or nothing)."""
        path = Path(path)
        if not path.exists():
            missing = [path]
            while not missing[-1].parent.exists() and missing[-1].parent != missing[-1]:
                missing.append(missing[-1].parent)
            return cls(path, missing, set(), {})
        files = {name: (path / name).read_bytes() for name in ("README", "config.toml")
                 if (path / name).is_file()}
        return cls(path, [], {p.name for p in path.iterdir()}, files)

    def restore(self) -> None:
        """Remove what was created in the directory since :meth:`take`, put README and
        config.toml back, remove the folders that did not exist; best effort, never raises."""
        out = self.path
        try:
            if out.is_dir():
                for p in out.iterdir():
                    if p.name not in self.entries:
                        if p.is_dir() and not p.is_symlink():
                            shutil.rmtree(p, ignore_errors=True)
                        else:
                            p.unlink(missing_ok=True)
                for name, data in self.files.items():
                    (out / name).write_bytes(data)
            for folder in self.missing:
                folder.rmdir()
        except OSError:
            pass
