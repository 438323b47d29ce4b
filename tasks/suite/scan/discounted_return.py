"""Discounted returns of reinforcement-learning trajectories (reverse scan).

For each environment: G[T-1] = r[T-1], and going backwards
G[t] = r[t] + gamma * G[t+1], except that the sum restarts after a step whose
done flag is set (the last step of an episode): there G[t] = r[t].
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = gamma

    def forward(self, rewards: torch.Tensor, dones: torch.Tensor) -> torch.Tensor:
        # rewards: (envs, steps) float; dones: (envs, steps) bool
        steps = rewards.shape[1]
        not_done = (~dones).to(rewards.dtype)
        returns = torch.empty_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        for t in range(steps - 1, -1, -1):
            running = rewards[:, t] + self.gamma * not_done[:, t] * running
            returns[:, t] = running
        return returns


def get_inputs(envs, steps):
    rewards = torch.randn(envs, steps)
    dones = torch.rand(envs, steps) < 0.05
    return [rewards, dones]


def get_init_inputs(envs, steps):
    return [0.99]


SHAPES = [
    dict(envs=8192, steps=1024),
    dict(envs=1000, steps=333),
    dict(envs=4, steps=16),
]

META = dict(
    category="scan",
    source="PPO (Schulman et al. 2017) discounted returns",
    flops=lambda envs, steps: 4 * envs * steps,
    bytes=lambda envs, steps: 12 * envs * steps,
)
