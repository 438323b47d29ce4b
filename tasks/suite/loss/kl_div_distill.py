"""Knowledge-distillation loss: temperature-scaled KL divergence.

loss = T^2 * mean over rows of KL(softmax(teacher / T) || softmax(student / T)),
a scalar. Each row is a distribution over a vocabulary.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    def __init__(self, temperature: float):
        super().__init__()
        self.temperature = temperature

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
        t = self.temperature
        log_p_student = F.log_softmax(student_logits / t, dim=-1)
        log_p_teacher = F.log_softmax(teacher_logits / t, dim=-1)
        kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=-1)
        return kl.mean() * t * t


def get_inputs(n, v):
    teacher = torch.randn(n, v) * 4.0
    student = teacher + torch.randn(n, v) * 2.0
    return [student, teacher]


def get_init_inputs(n, v):
    return [2.0]


SHAPES = [
    dict(n=1024, v=32000),
    dict(n=33, v=50257),
    dict(n=3, v=11),
]

META = dict(
    category="loss",
    source="Distilling the Knowledge in a Neural Network (Hinton et al. 2015)",
    flops=lambda n, v: 12 * n * v,
    bytes=lambda n, v: 8 * n * v + 4,
)
