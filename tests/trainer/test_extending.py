"""docs/extending.md: the worked example kind is the shipped file, and its command trains it."""

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from trainers.models.config import MODEL_KINDS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "extending.md").read_text()


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def test_the_page_shows_the_shipped_kind_and_its_registry_line():
    shipped = (ROOT / "trainers" / "models" / "kinds" / "social_curiosity.py").read_text()
    assert blocks("python")[0] == shipped
    line = next(x.strip() for x in blocks("python")[1].splitlines() if "social_curiosity" in x)
    assert line in (ROOT / "trainers" / "models" / "config.py").read_text()
    assert MODEL_KINDS["social_curiosity"].endswith(":SocialCuriosity")


@pytest.mark.slow
def test_the_example_trains_from_the_cli(tmp_path):
    from infoflow.trajectory import open_trajectories

    args = shlex.split(blocks("bash")[0].replace("\\\n", " "))
    assert args[:2] == ["infoflow", "train"]
    out = tmp_path / "curious"
    args[args.index("--out") + 1] = str(out)
    result = CliRunner().invoke(cli, [*args[1:], "--quiet"])
    assert result.exit_code == 0, result.output
    header, *rows = (out / "metrics.csv").read_text().splitlines()
    columns = header.split(",")
    for name in ("influence_reward", "loss_moa", "moa_accuracy", "moa_baseline_frequent",
                 "moa_baseline_previous"):
        assert name in columns
    last = dict(zip(columns, rows[-1].split(","), strict=True))
    assert float(last["influence_reward"]) > 0.0  # surprisal in nats
    ds = open_trajectories(out / "trajectories.zarr")
    assert ds.attrs["influence_divergence"] == "surprisal"
    assert ds.attrs["model"] == "social_curiosity"
