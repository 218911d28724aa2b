"""Training config: presets, TOML round trip, --set overrides and their errors (SPEC 3)."""

import tomllib

import pytest

from trainers.config import (
    TrainConfig,
    apply_overrides,
    config_from_dict,
    config_to_toml,
    game_config,
    list_presets,
    load_config,
    preset_text,
)

PAPER_PRESETS = [f"{g}_{m}" for g in ("cleanup", "harvest") for m in (
    "a3c", "visible_actions", "influence", "comm_baseline", "comm_influence", "moa_baseline",
    "moa_influence")]


def test_every_preset_loads_and_round_trips():
    names = list_presets()
    assert set(PAPER_PRESETS) <= set(names)
    assert {"quickstart", "box_trapped_baseline", "box_trapped_influence"} <= set(names)
    for name in names:
        cfg = load_config(preset=name)
        text = config_to_toml(cfg)
        assert config_from_dict(tomllib.loads(text)) == cfg, name


@pytest.mark.parametrize(
    ("preset", "field", "expected"),
    [
        # Table 1
        ("cleanup_a3c", "model.entropy_coef", 0.00176),
        ("cleanup_influence", "trainer.beta", 0.146),
        ("cleanup_influence", "model.divergence", "jsd"),
        ("cleanup_influence", "model.influencee_reward", True),
        ("cleanup_influence", "trainer.curriculum_steps", 140_000_000),
        ("harvest_influence", "model.divergence", "pmi"),
        ("harvest_influence", "model.influencers", 3),
        ("harvest_visible_actions", "trainer.lr_init", 0.00215),
        # Table 2
        ("cleanup_comm_influence", "trainer.beta", 2.752),
        ("cleanup_comm_influence", "model.alpha", 0.0),
        ("harvest_comm_influence", "model.vocab_size", 7),
        ("harvest_comm_influence", "model.message_embedding", 16),
        ("harvest_comm_influence", "model.message_loss_weight", 0.0709),
        # Table 3
        ("cleanup_moa_influence", "model.moa_loss_weight", 15.007),
        ("cleanup_moa_influence", "model.moa_visible_only", True),
        ("harvest_moa_baseline", "model.moa_loss_weight", 1.711),
        ("harvest_moa_influence", "trainer.curriculum_steps", 226_000_000),
        ("harvest_moa_influence", "trainer.lr_end", 0.000044),
        # SPEC 1.4 scratch study
        ("box_trapped_influence", "model.core", "ff"),
        ("box_trapped_influence", "env.game", "box_trapped"),
    ],
)
def test_presets_hold_the_paper_values(preset, field, expected):
    cfg = load_config(preset=preset)
    section, name = field.split(".")
    assert getattr(getattr(cfg, section), name) == expected


def test_presets_cite_their_table():
    for name in PAPER_PRESETS:
        assert "Table" in preset_text(name), name
    assert "88 %" in preset_text("box_trapped_influence")


def test_box_trapped_presets_match_the_study_settings():
    # benchmarks/box_trapped_study.py: ff core, policy head gain 3, beta 200 on the raw KL;
    # the baseline is the same configuration without influence
    influence = load_config(preset="box_trapped_influence")
    baseline = load_config(preset="box_trapped_baseline")
    assert influence.model.core == baseline.model.core == "ff"
    assert influence.model.policy_init_scale == baseline.model.policy_init_scale == 3.0
    assert influence.trainer.beta == 200 and influence.model.kind == "influence"
    assert baseline.trainer.beta == 0 or baseline.model.kind == "a3c"


def test_overrides_are_typed_by_the_dataclass_field():
    cfg = load_config(preset="quickstart", overrides=[
        "trainer.total_steps=5e6", "trainer.beta=1", "model.fc_sizes=[16, 8]",
        "env.config.horizon=77", "logging.tensorboard=false", "env.map=maps/x.txt",
        "model.influencers=[0, 2]"])
    assert cfg.trainer.total_steps == 5_000_000 and isinstance(cfg.trainer.total_steps, int)
    assert cfg.trainer.beta == 1.0 and isinstance(cfg.trainer.beta, float)
    assert cfg.model.fc_sizes == (16, 8)
    assert cfg.model.influencers == (0, 2)
    assert game_config(cfg.env).horizon == 77
    assert cfg.logging.tensorboard is False
    assert cfg.env.map == "maps/x.txt"


def test_resolved_config_lists_every_game_field():
    cfg = load_config(overrides=["env.game=harvest", "env.config.horizon=30"])
    data = tomllib.loads(config_to_toml(cfg))
    assert data["env"]["config"]["horizon"] == 30
    assert data["env"]["config"]["regrowth_probs"] == [0.0, 0.005, 0.02, 0.05]
    assert game_config(cfg.env).regrowth_probs == (0.0, 0.005, 0.02, 0.05)


def test_config_file_and_later_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[trainer]\nseed = 4\n[env]\ngame = "harvest"\n')
    cfg = load_config(path, overrides=["trainer.seed=5"])
    assert (cfg.trainer.seed, cfg.env.game) == (5, "harvest")
    defaults = load_config()
    assert defaults.trainer == TrainConfig().trainer and defaults.model == TrainConfig().model


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trainer.sed=1", r"unknown field 'trainer.sed'.*seed"),
        ("trainr.seed=1", r"unknown field 'trainr.seed'"),
        ("trainer.seed=abc", r"trainer.seed must be int, got 'abc'"),
        ("trainer.seed=1.5", r"trainer.seed must be int"),
        ("trainer.beta=true", r"trainer.beta must be float"),
        ("logging.tensorboard=1", r"logging.tensorboard must be bool"),
        ("env.config.nope=1", r"unknown field env.config.nope for game 'cleanup'"),
        ("env.config.map=x", r"give the map as env.map"),
        ("env.game=pong", r"env.game = 'pong'"),
        ("model.kind=transformer", r"ModelConfig.kind"),
        ("trainer.seed", r"write SECTION.FIELD=VALUE"),
        ("trainer=3", r"name a field of the section"),
        ("trainer.optimizer=sgd", r"'rmsprop' or 'adam'"),
        ("env.n_envs=0", r"env.n_envs must be >= 1"),
    ],
)
def test_bad_overrides_name_the_problem(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(overrides=[override])


def test_bad_files_and_presets(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'nope'; choose one of: .*quickstart"):
        load_config(preset="nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[trainer\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[trainer]\nlearning_rate = 0.1\n")
    with pytest.raises(ValueError, match="unknown field trainer.learning_rate"):
        load_config(unknown)
    with pytest.raises(ValueError, match="unknown field extra"):
        config_from_dict({"extra": {}})
    with pytest.raises(ValueError, match="either a preset or a config file"):
        load_config(bad, preset="quickstart")


def test_apply_overrides_works_on_plain_data():
    data = apply_overrides({}, ["trainer.seed=3", "env.config.horizon=9"])
    assert data == {"trainer": {"seed": 3}, "env": {"config": {"horizon": 9}}}
