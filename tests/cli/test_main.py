"""The ``infoflow`` group: every error is one line ``Error: ...`` with exit status 2 (SPEC 8)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.main import COMMANDS, cli, exit_status, one_line
from infoflow.analysis import METHODS
from infoflow.significance import LAG_TESTS, SURROGATE_METHODS
from infoflow.synthetic import coupled_actions


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Stores and files the bad invocations refer to by name."""
    root = tmp_path_factory.mktemp("main")
    ds = coupled_actions(n_agents=3, n_symbols=3, n_episodes=10, n_steps=50, seed=0)
    ds.to_netcdf(root / "store.nc", engine="scipy")
    faulty = ds.assign(action=ds["action"].astype("int32")).assign_attrs(n_actions=0)
    faulty.to_netcdf(root / "faulty.nc", engine="scipy")  # 2 faults: n_actions, action dtype
    (root / "junk.nc").write_text("not a netCDF file\n")
    return {"STORE": root / "store.nc", "FAULTY": root / "faulty.nc",
            "JUNK": root / "junk.nc", "MISSING": root / "missing.nc"}


def invoke(files: dict[str, Path], args: list[str]):
    return CliRunner().invoke(cli, [str(files.get(a, a)) for a in args])


BAD_INVOCATIONS = [
    (["nope"], "No such command 'nope'"),
    (["--nope"], "No such option '--nope'"),
    (["analyze"], "Missing argument 'RUN_OR_STORE'"),
    (["analyze", "MISSING"], "no trajectory store or file at"),
    (["analyze", "STORE", "--measures", "foo"], "unknown measure 'foo'; choose from te, mi"),
    (["analyze", "STORE", "--measures", ","], "no measure given"),
    (["analyze", "STORE", "--lags", "x"], "Invalid value for '--lags': 'x' is not a list"),
    (["analyze", "STORE", "--lags", "0"], "lag 0 is below 1"),
    (["analyze", "STORE", "--permutations", "0"], "permutations is 0; pass 1..1000000"),
    (["analyze", "STORE", "--permutations", "many"], "'many' is not a valid integer"),
    (["analyze", "STORE", "--surrogates", "x"], "Invalid value for '--surrogates'"),
    (["analyze", "STORE", "--bogus"], "No such option '--bogus'"),
    (["analyze", "STORE", "--lags"], "Option '--lags' requires an argument"),
    (["analyze", "STORE", "--measures", "te", "--lags", "60"], "no te sample at any lag"),
    (["analyze", "FAULTY"], "not a valid trajectory dataset (2 faults): attribute 'n_actions'"),
    (["analyze", "JUNK"], "could not read"),
    (["analyze", "STORE", "extra"], "Got unexpected extra argument (extra)"),
    (["graph"], "Missing argument 'ANALYSIS_NC'"),
    (["graph", "MISSING"], "no analysis file at"),
    (["graph", "JUNK"], "is not a netCDF results file"),
    (["graph", "STORE", "--alpha", "x"], "'x' is not a valid float"),
    (["render", "chess"], "unknown game 'chess'"),
    (["render", "cleanup", "--steps", "0"], "Invalid value for '--steps'"),
    (["envs", "extra"], "Got unexpected extra argument (extra)"),
    (["evaluate"], "Missing argument"),
    (["train", "--preset", "nope"], "unknown preset 'nope'"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INVOCATIONS,
                         ids=[" ".join(a) for a, _ in BAD_INVOCATIONS])
def test_errors_are_one_line_with_exit_2(files, tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)  # whatever a command might write lands here
    result = invoke(files, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output and "Usage:" not in result.output


def test_faults_are_joined_by_semicolons(files) -> None:
    result = invoke(files, ["analyze", "FAULTY"])
    assert result.output.count("\n") == 1
    assert "(2 faults): attribute 'n_actions' is 0; " in result.output
    assert "; variable 'action' has dtype int32; expected int16" in result.output


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["--version"], *[[c, "--help"]
                                                                       for c in COMMANDS]])
def test_help_and_version_exit_0(args) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "Error" not in result.output
    assert ("version" in result.output) if args == ["--version"] else ("Usage:" in result.output)


def test_debug_shows_the_library_error(files) -> None:
    result = invoke(files, ["--debug", "analyze", "MISSING"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)
    assert "no trajectory store or file at" in str(result.exception)


def test_console_script_exits_2(files, monkeypatch, capsys) -> None:
    from cli.main import main

    monkeypatch.setattr("sys.argv", ["infoflow", "analyze", str(files["MISSING"])])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("Error: no trajectory store or file at")
    assert captured.err.count("\n") == 1


def test_standalone_mode_off_raises() -> None:
    with pytest.raises(click.UsageError):
        cli.main(["nope"], standalone_mode=False)


def test_one_line() -> None:
    assert one_line("did not find a match.\nsee:\nhttps://a\nhttps://b") == (
        "did not find a match.; see: https://a; https://b")
    assert one_line("  a   b  ") == "a b"
    assert one_line("x (2 faults):\n  - one\n  - two") == "x (2 faults): one; two"


def test_exit_status() -> None:
    class Failed(click.ClickException):
        exit_code = 1

    assert exit_status(click.UsageError("x")) == 2
    assert exit_status(click.ClickException("x")) == 2
    assert exit_status(click.FileError("f")) == 2
    assert exit_status(Failed("x")) == 1  # a command's own status (train: a worker died)


def test_analyze_choices_match_the_library() -> None:
    from cli.analyze_cmd import analyze

    choices = {p.name: tuple(p.type.choices) for p in analyze.params
               if isinstance(p.type, click.Choice)}
    assert choices == {"lag_test": LAG_TESTS, "surrogates": SURROGATE_METHODS,
                       "method": METHODS}
