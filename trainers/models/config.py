"""Configuration of the agents' networks, influence rewards and loss weights (SPEC 2).

Defaults follow the paper's supplement 10.4 (network sizes) and its Cleanup columns of Tables 1-3
(Jaques et al. 2019, arXiv 1810.08647); presets override them per game and model.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODEL_KINDS", "CORES", "DIVERGENCES", "REWARD_KINDS", "ModelConfig"]

MODEL_KINDS = {  # model.kind -> the class implementing it (trainers.models.kinds.base.ModelKind)
    "a3c": "trainers.models.kinds.a3c:A3C",
    "visible_actions": "trainers.models.kinds.visible_actions:VisibleActions",
    "influence": "trainers.models.kinds.basic_influence:BasicInfluence",
    "communication": "trainers.models.kinds.communication:Communication",
    "moa": "trainers.models.kinds.moa:MOA",
    "social_curiosity": "trainers.models.kinds.social_curiosity:SocialCuriosity",
}
CORES = ("lstm", "ff")
DIVERGENCES = ("kl", "jsd", "pmi")
REWARD_KINDS = ("env", "prosocial", "inequity_aversion")


@dataclass
class ModelConfig:
    """Every knob of the agents' model. Units and ranges in the comment after each field."""

    kind: str = "a3c"
    """model: "a3c" | "visible_actions" | "influence" | "communication" | "moa" | any kind
    registered in `MODEL_KINDS`."""
    core: str = "lstm"
    """recurrent core: "lstm" (paper) | "ff" (one feed-forward ReLU layer of `hidden_size`)."""
    conv_channels: int = 6
    """conv output channels (paper: 6); kernel `conv_kernel`, stride 1, no padding, ReLU."""
    conv_kernel: int = 3
    """conv kernel size in cells, >= 1 and <= the view size (paper: 3)."""
    fc_sizes: tuple[int, ...] = (32, 32)
    """widths of the fully connected ReLU layers after the conv (paper: two of 32)."""
    hidden_size: int = 128
    """LSTM cells, or width of the `ff` core (paper: 128)."""
    policy_init_scale: float = 0.01
    """gain of the policy head's init U(+-gain/sqrt(fan_in)), > 0; 0.01 starts near-uniform,
    1.0 is torch's default (larger initial dependence of influencees on influencers' actions)."""

    gamma: float = 0.99
    """discount per step, in (0, 1] (paper: 0.99)."""
    entropy_coef: float = 0.00176
    """weight of the action-policy entropy bonus, >= 0 (paper Table 1, Cleanup A3C)."""
    value_coef: float = 0.5
    """weight of the squared value error (0.5 * (G - V)^2), >= 0."""

    divergence: str = "kl"
    """policy comparison D of the influence reward: "kl" | "jsd" | "pmi" (nats)."""
    influencers: int | tuple[int, ...] = 1
    """basic influence: number of influencers (agents 0..k-1), 1..N-1, or explicit agent indices."""
    influencee_reward: bool = False
    """basic influence: influencees also receive the influence they undergo (sum over k)."""
    alpha: float = 1.0
    """weight of the env reward e for the head that learns from influence (r = alpha e + beta c)."""
    influence_clip: float | None = None
    """clip each agent's influence reward c to [-clip, clip]; None = no clipping."""

    vocab_size: int = 9
    """communication: message symbols V, >= 2 (paper Table 2, Cleanup: 9)."""
    message_embedding: int = 32
    """communication: width of the message head's hidden ReLU layer (paper Table 2, Cleanup: 32)."""
    message_entropy_coef: float = 0.000789
    """communication: entropy bonus weight of the message policy (paper Table 2, Cleanup)."""
    message_loss_weight: float = 0.0758
    """communication: weight of the whole message-head loss (paper Table 2, Cleanup)."""

    moa_loss_weight: float = 15.007
    """MOA: weight of the action-prediction cross-entropy (paper Table 3, Cleanup influence MOA)."""
    moa_visible_only: bool = False
    """MOA: train the prediction of agent j only at steps where j is inside the predictor's view."""

    reward: str = "env"
    """extrinsic reward: "env" | "prosocial" | "inequity_aversion" (Hughes et al. 2018)."""
    prosocial_eta: float = 0.85
    """prosocial: r_k = e_k + eta * sum_{i != k} e_i (paper's best eta: 0.85)."""
    ia_alpha: float = 5.0
    """inequity aversion: disadvantageous weight (envy) alpha, >= 0 (Hughes et al.: 5)."""
    ia_beta: float = 0.05
    """inequity aversion: advantageous weight (guilt) beta, >= 0 (Hughes et al.: 0.05)."""
    ia_smoothing: float = 0.99 * 0.975
    """inequity aversion: trace decay gamma*lambda of the smoothed rewards, in [0, 1)."""

    def __post_init__(self) -> None:
        self.fc_sizes = tuple(int(s) for s in self.fc_sizes)
        if not isinstance(self.influencers, int):
            self.influencers = tuple(int(i) for i in self.influencers)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first bad field and how to fix it."""
        choices = {"kind": tuple(MODEL_KINDS), "core": CORES, "divergence": DIVERGENCES,
                   "reward": tuple(REWARD_KINDS)}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"ModelConfig.{name}={getattr(self, name)!r} is unknown; "
                                 f"use one of {allowed}")
        positive = {"conv_channels": self.conv_channels, "conv_kernel": self.conv_kernel,
                    "hidden_size": self.hidden_size, "message_embedding": self.message_embedding}
        for name, value in positive.items():
            if int(value) < 1:
                raise ValueError(f"ModelConfig.{name}={value} must be a positive integer")
        if len(self.fc_sizes) < 1 or min(self.fc_sizes) < 1:
            raise ValueError(f"ModelConfig.fc_sizes={self.fc_sizes} must hold at least one "
                             "positive width, e.g. (32, 32)")
        if self.vocab_size < 2:
            raise ValueError(f"ModelConfig.vocab_size={self.vocab_size} must be >= 2")
        if not self.policy_init_scale > 0:
            raise ValueError(f"ModelConfig.policy_init_scale={self.policy_init_scale} must be "
                             "> 0, e.g. 0.01 (near-uniform start) or 1.0 (torch's default)")
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"ModelConfig.gamma={self.gamma} must lie in (0, 1], e.g. 0.99")
        if not 0.0 <= self.ia_smoothing < 1.0:
            raise ValueError(f"ModelConfig.ia_smoothing={self.ia_smoothing} must lie in [0, 1)")
        nonneg = ("entropy_coef", "value_coef", "alpha", "message_entropy_coef",
                  "message_loss_weight", "moa_loss_weight", "ia_alpha", "ia_beta")
        for name in nonneg:
            if getattr(self, name) < 0:
                raise ValueError(f"ModelConfig.{name}={getattr(self, name)} must be >= 0")
        if self.influence_clip is not None and self.influence_clip <= 0:
            raise ValueError(f"ModelConfig.influence_clip={self.influence_clip} must be > 0, "
                             "or None for no clipping")

    def influencer_indices(self, n_agents: int) -> tuple[int, ...]:
        """Resolve `influencers` for `n_agents` agents; ValueError when the set is not 1..N-1."""
        if isinstance(self.influencers, int):
            if not 1 <= self.influencers <= n_agents - 1:
                raise ValueError(f"ModelConfig.influencers={self.influencers} must lie in "
                                 f"1..{n_agents - 1} for {n_agents} agents")
            return tuple(range(self.influencers))
        idx = tuple(sorted(set(self.influencers)))
        if len(idx) != len(self.influencers) or not idx or len(idx) > n_agents - 1 or \
                idx[0] < 0 or idx[-1] >= n_agents:
            raise ValueError(f"ModelConfig.influencers={self.influencers} must be 1..{n_agents - 1}"
                             f" distinct agent indices in 0..{n_agents - 1}")
        return idx
