"""Entry point of the ``infoflow`` console script.

Each command lives in its own module and is imported only when invoked, so that
``infoflow --help`` stays instant (no torch, no matplotlib at start-up).
Library errors about bad input (``ValueError``, missing or existing files) become
one line on stderr and exit status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "analyze": "cli.analyze_cmd:analyze",
    "envs": "cli.envs_cmd:envs",
    "evaluate": "cli.evaluate_cmd:evaluate",
    "graph": "cli.graph_cmd:graph",
    "render": "cli.render_cmd:render",
    "train": "cli.train_cmd:train",
}

USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError)


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
    cli(prog_name="infoflow")


if __name__ == "__main__":
    main()
