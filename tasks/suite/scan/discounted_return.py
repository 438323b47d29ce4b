"""Discounted returns of reinforcement-learning trajectories (reverse scan).

For each environment: G[T-1] = r[T-1], and going backwards
G[t] = r[t] + gamma * (1 - done[t]) * G[t+1], where done[t] = 1 marks the
last step of an episode.
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = gamma

    def forward(self, rewards: torch.Tensor, dones: torch.Tensor) -> torch.Tensor:
        # rewards, dones: (envs, steps)
        steps = rewards.shape[1]
        returns = torch.empty_like(rewards)
        running = torch.zeros_like(rewards[:, 0])
        for t in range(steps - 1, -1, -1):
            running = rewards[:, t] + self.gamma * (1.0 - dones[:, t]) * running
            returns[:, t] = running
        return returns


def get_inputs(envs, steps):
    rewards = torch.randn(envs, steps)
    dones = (torch.rand(envs, steps) < 0.05).float()
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
