"""trainers: batched social-dilemma games and the A3C trainer with the paper's models."""
