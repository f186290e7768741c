"""Models for ``varprop audit`` (see docs/torch.md): the paper's network in PyTorch."""
from torch import nn


def tanh_mlp(width=1000, depth=5, inputs=1024, classes=10):
    """5 x 1000 tanh units with PyTorch's default initialisation (the paper's 'standard')."""
    layers, n = [], inputs
    for _ in range(depth):
        layers += [nn.Linear(n, width), nn.Tanh()]
        n = width
    return nn.Sequential(*layers, nn.Linear(n, classes))
