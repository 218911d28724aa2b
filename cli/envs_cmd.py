"""``infoflow envs``: the games, their agents, actions, maps and horizons."""

from __future__ import annotations

import click


@click.command(short_help="List the games: agents, actions, map size, horizon.")
def envs() -> None:
    """List the games with their default number of agents, default map size
    (rows x columns), episode horizon (steps) and actions (count, and names in
    the order of their codes).
    """
    from trainers.envs import GAME_NAMES, make_env

    header = ("game", "agents", "map", "horizon", "actions", "action names (codes 0, 1, ...)")
    rows = []
    for game in GAME_NAMES:
        env = make_env(game, n_envs=1)
        n_rows, n_cols = env.map.shape
        rows.append(
            (
                game,
                str(env.n_agents),
                f"{n_rows} x {n_cols}",
                str(env.horizon),
                str(env.n_actions),
                " ".join(env.action_names),
            )
        )
    click.echo(format_table(header, rows))


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Plain-text table: left-aligned columns two spaces apart, a rule under the header."""
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]
    table = [header, tuple("-" * w for w in widths), *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    )
