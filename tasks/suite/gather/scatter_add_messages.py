"""Message aggregation of a graph neural network: sum incoming edge messages.

messages has one row per edge; dst[e] is the destination node of edge e.
out[v] = sum of messages[e] over all edges e with dst[e] == v (zero for
nodes without incoming edges).
"""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, num_nodes: int):
        super().__init__()
        self.num_nodes = num_nodes

    def forward(self, messages: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(self.num_nodes, messages.shape[1], dtype=messages.dtype, device=messages.device)
        return out.index_add(0, dst, messages)


def get_inputs(num_nodes, num_edges, d):
    # power-law-like in-degrees: a few hub nodes receive many messages
    dst = (torch.rand(num_edges) ** 3 * num_nodes).long().clamp_(max=num_nodes - 1)
    return [torch.randn(num_edges, d), dst]


def get_init_inputs(num_nodes, num_edges, d):
    return [num_nodes]


SHAPES = [
    dict(num_nodes=100000, num_edges=1000000, d=64),
    dict(num_nodes=2707, num_edges=10556, d=33),
    dict(num_nodes=5, num_edges=12, d=3),
]

META = dict(
    category="gather",
    source="GCN message passing (PyG scatter-add; PyTorch-Direct)",
    flops=lambda num_nodes, num_edges, d: num_edges * d,
    bytes=lambda num_nodes, num_edges, d: 4 * (num_edges * d + num_nodes * d) + 8 * num_edges,
)
