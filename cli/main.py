"""Entry point of the ``infoflow`` console script.

Each command lives in its own module and is imported only when invoked, so that
``infoflow --help`` stays instant (no torch, no matplotlib at start-up).

Every error is one line on stderr, ``Error: <message>``, with exit status 2 (SPEC 8):
click's usage errors (unknown command or option, missing argument, bad option value) and
library errors about bad input (``ValueError``, missing or existing files), which become
:class:`UserError`. Messages spanning several lines (a dataset's list of faults, a backend's
message) are joined into one. ``--debug`` shows the traceback of library errors instead.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import re
import sys

import click

from trainers.errors import NoSpaceError

# command name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "analyze": "cli.analyze_cmd:analyze",
    "envs": "cli.envs_cmd:envs",
    "compare": "cli.compare_cmd:compare",
    "evaluate": "cli.evaluate_cmd:evaluate",
    "experiment": "cli.experiment_cmd:experiment",
    "graph": "cli.graph_cmd:graph",
    "render": "cli.render_cmd:render",
    "report": "cli.report_cmd:report",
    "train": "cli.train_cmd:train",
}

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError,
               IsADirectoryError, PermissionError, NoSpaceError)
ERROR_STATUS = 2


def one_line(message: str) -> str:
    r"""``message`` on one line: whitespace runs collapsed, lines joined by "; " (after a line
    ending in ":" by a space), list bullets dropped.

    Examples
    --------
    >>> one_line("2 faults:\n  - a is wrong\n  - b  is\twrong\n")
    '2 faults: a is wrong; b is wrong'
    """
    text = ""
    for line in message.splitlines():
        line = re.sub(r"\s+", " ", line).strip()
        line = re.sub(r"^[-*] ", "", line)
        if not line:
            continue
        text = line if not text else f"{text} {line}" if text.endswith(":") else f"{text}; {line}"
    return text


def exit_status(error: click.ClickException) -> int:
    """2 for every error, except a command's own exception class that sets another status
    (``TrainFailed``: 1, training failed rather than bad input)."""
    cls = type(error)
    own = not cls.__module__.startswith("click.") and "exit_code" in vars(cls)
    return error.exit_code if own else ERROR_STATUS


class UserError(click.ClickException):
    """A one-line error about the user's input; exit status 2."""

    exit_code = 2


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use and whose
    library errors become :class:`UserError`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        """As click's, but every error is one line ``Error: ...`` with :func:`exit_status`.

        Runs for the console script and for ``CliRunner().invoke(cli, ...)`` alike.
        """
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            status = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:  # no arguments: the help
            error.show()
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"Error: {one_line(error.format_message())}", err=True)
            sys.exit(exit_status(error))
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # non-standalone main returns the exit status of ctx.exit (--help, --version)
        sys.exit(status if isinstance(status, int) and not isinstance(status, bool) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise UserError(str(exc)) from exc


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="infoflow")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """infoflow: social influence between learning agents.

    Train agents on sequential social dilemmas, log what they did, and measure
    who influences whom.
    """
    ctx.obj = {"debug": debug}


def main() -> None:
    """Run the ``infoflow`` command line."""
    # Python's last garbage collection walks every imported module (~0.5 s after an analysis)
    # to free memory the OS takes back anyway; freezing the heap at exit skips it. Buffers,
    # files and other atexit handlers are closed as usual.
    atexit.register(gc.freeze)
    cli(prog_name="infoflow")


if __name__ == "__main__":
    main()
