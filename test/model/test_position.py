"""Sine position encoding: known values, interleaving, positions starting at 1."""

import math

import pytest
import torch

from cvseq_localizer.model.position import sine_position_encoding


def test_known_values_first_cell_and_channel_layout():
    pe = sine_position_encoding(2, 3, 8, temperature=10000.0)
    assert pe.shape == (6, 8)
    # cell (row 0, col 0): x = y = 1; frequencies 1 and 10000^(-4/8) = 0.01.
    expected = [math.sin(1), math.cos(1), math.sin(1), math.cos(1)]
    expected += [math.sin(0.01), math.cos(0.01), math.sin(0.01), math.cos(0.01)]
    assert torch.allclose(pe[0], torch.tensor(expected), atol=1e-6)
    # token 5 = (row 1, col 2): x = 3, y = 2.
    x, y = 3.0, 2.0
    expected = [math.sin(x), math.cos(x), math.sin(y), math.cos(y)]
    expected += [math.sin(x / 100), math.cos(x / 100), math.sin(y / 100), math.cos(y / 100)]
    assert torch.allclose(pe[5], torch.tensor(expected), atol=1e-6)


def test_row_major_order_and_axis_channels():
    pe = sine_position_encoding(4, 5, 16).view(4, 5, 16)
    # x channels (4i, 4i+1) depend on the column only, y channels (4i+2, 4i+3) on the row only.
    x_ch = pe[..., [c for c in range(16) if c % 4 < 2]]
    y_ch = pe[..., [c for c in range(16) if c % 4 >= 2]]
    assert torch.equal(x_ch[0], x_ch[3])
    assert torch.equal(y_ch[:, 0], y_ch[:, 4])
    assert not torch.equal(x_ch[:, 0], x_ch[:, 1])
    assert not torch.equal(y_ch[0], y_ch[1])


@pytest.mark.parametrize('dim', [6, 0, -4])
def test_bad_dim_raises(dim):
    with pytest.raises(ValueError, match='multiple of 4'):
        sine_position_encoding(2, 2, dim)
