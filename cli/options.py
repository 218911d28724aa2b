"""Options shared by several commands, defined once."""

from __future__ import annotations

import click

seed_option = click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed (reproducible runs)."
)
