"""Schedules: linear learning-rate annealing and the influence curriculum β(t) (SPEC 2, 3)."""

import pytest

from trainers.schedules import influence_weight, learning_rate


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0, 1e-3), (250, 7.5e-4), (500, 5e-4), (1000, 0.0), (5000, 0.0)],
)
def test_learning_rate_anneals_linearly(t, expected):
    assert learning_rate(t, 1000, 1e-3, 0.0) == pytest.approx(expected)


def test_learning_rate_paper_cleanup_a3c_endpoints():
    # Table 1, Cleanup A3C: lr init .00126 -> lr end .000012
    assert learning_rate(0, 10**8, 0.00126, 0.000012) == pytest.approx(0.00126)
    assert learning_rate(10**8, 10**8, 0.00126, 0.000012) == pytest.approx(0.000012)
    mid = learning_rate(5 * 10**7, 10**8, 0.00126, 0.000012)
    assert mid == pytest.approx((0.00126 + 0.000012) / 2)


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0, 0.0), (99, 0.0), (100, 0.0), (150, 0.5), (200, 1.0), (300, 2.0), (10**9, 2.0)],
)
def test_curriculum_with_delay(t, expected):
    # delay 100 steps, then a rise to beta = 2 over 200 steps
    assert influence_weight(t, beta=2.0, curriculum_steps=200, delay=100) == pytest.approx(expected)


def test_curriculum_without_rise_gives_full_beta_after_delay():
    assert influence_weight(9, 0.146, 0, delay=10) == 0.0
    assert influence_weight(10, 0.146, 0, delay=10) == pytest.approx(0.146)


def test_curriculum_paper_cleanup_influence():
    # Table 1, Cleanup influence: beta .146, curriculum 140 M steps
    assert influence_weight(70 * 10**6, 0.146, 140 * 10**6) == pytest.approx(0.073)


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError, match="total_steps must be positive"):
        learning_rate(0, 0, 1e-3, 1e-5)
    with pytest.raises(ValueError, match="must be >= 0"):
        influence_weight(0, 1.0, -1)
    with pytest.raises(ValueError, match="step counter"):
        learning_rate(-1, 10, 1e-3, 1e-5)


# -- the curriculum scaled to a run's budget ---------------------------------------------------

def test_a_shorter_budget_scales_the_curriculum_and_the_learning_rate_follows():
    from trainers.config import load_config
    from trainers.schedules import beta_at, curriculum, learning_rate

    cfg = load_config(preset="cleanup_influence", overrides=["trainer.total_steps=30_000_000"])
    tr = cfg.trainer
    assert tr.curriculum_budget == 300_000_000  # the preset's own budget, kept by --steps
    assert curriculum(tr) == (0, 14_000_000, 0.1)  # 140M of 300M -> 14M of 30M
    assert beta_at(tr, 0) == 0.0
    assert beta_at(tr, 7_000_000) == pytest.approx(tr.beta / 2)
    assert beta_at(tr, 14_000_000) == beta_at(tr, 30_000_000) == pytest.approx(tr.beta)
    assert learning_rate(15_000_000, tr.total_steps, tr.lr_init, tr.lr_end) == \
        pytest.approx((tr.lr_init + tr.lr_end) / 2)
    kept = load_config(preset="cleanup_influence", overrides=[
        "trainer.total_steps=30_000_000", "trainer.scale_curriculum=false"]).trainer
    assert curriculum(kept) == (0, 140_000_000, 1.0)
    assert beta_at(kept, 30_000_000) == pytest.approx(tr.beta * 30 / 140)


def test_delay_scales_too_and_larger_budgets_keep_the_curriculum():
    from trainers.config import TrainerSection
    from trainers.schedules import beta_at, curriculum

    tr = TrainerSection(total_steps=1_000, beta=2.0, curriculum_steps=4_000,
                        curriculum_delay=2_000, curriculum_budget=10_000)
    assert curriculum(tr) == (200, 400, 0.1)
    assert beta_at(tr, 199) == 0.0 and beta_at(tr, 400) == pytest.approx(1.0)
    longer = TrainerSection(total_steps=50_000, beta=2.0, curriculum_steps=4_000,
                            curriculum_budget=10_000)
    assert curriculum(longer) == (0, 4_000, 1.0)


def test_the_curriculum_note_says_what_happens():
    from trainers.config import TrainerSection
    from trainers.schedules import curriculum_note

    scaled = TrainerSection(total_steps=20_000_000, beta=0.224, curriculum_steps=140_000_000,
                            curriculum_budget=300_000_000)
    assert curriculum_note(scaled).startswith("curriculum scaled to the budget (20,000,000 of")
    kept = TrainerSection(total_steps=20_000_000, beta=0.224, curriculum_steps=140_000_000,
                          curriculum_budget=300_000_000, scale_curriculum=False)
    assert curriculum_note(kept).startswith("β(t) reaches only 14.3% of β = 0.224 within")
    assert curriculum_note(TrainerSection(total_steps=300_000_000, beta=0.224,
                                          curriculum_steps=140_000_000,
                                          curriculum_budget=300_000_000)) is None
    assert curriculum_note(TrainerSection(beta=0.0, curriculum_steps=10)) is None


def test_config_toml_keeps_the_budget_and_resume_does_not_rescale(tmp_path):
    from trainers.config import config_to_toml, load_config

    cfg = load_config(preset="harvest_influence", overrides=["trainer.total_steps=2e7"])
    path = tmp_path / "config.toml"
    path.write_text(config_to_toml(cfg))
    again = load_config(path, overrides=["trainer.total_steps=40_000_000"])
    assert again.trainer.curriculum_budget == cfg.trainer.curriculum_budget == 300_000_000
