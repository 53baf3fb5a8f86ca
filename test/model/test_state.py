"""``shift_hidden``: content moves by exactly the given whole cells; entering cells invalid."""

import pytest
import torch

from cvseq_localizer.model import HiddenState, shift_hidden

N, D = 6, 3


def _labelled_state(batch: int = 2) -> HiddenState:
    """state[b, r*N + c] = (b, r, c) so every cell's origin can be read back."""
    b, r, c = torch.meshgrid(torch.arange(batch), torch.arange(N), torch.arange(N), indexing='ij')
    state = torch.stack([b, r, c], dim=-1).float().view(batch, N * N, D)
    valid = torch.ones(batch, N * N, dtype=torch.bool)
    valid[:, 0] = False  # old cell (0, 0) was invalid: stays invalid wherever it goes
    return HiddenState(state, valid)


@pytest.mark.parametrize('d_row,d_col', [(0, 0), (1, 0), (0, -2), (2, 3), (-5, 5), (-1, -1)])
def test_cells_move_by_the_shift(d_row, d_col):
    old = _labelled_state()
    new = shift_hidden(old, d_row, d_col)
    state = new.state.view(2, N, N, D)
    valid = new.valid.view(2, N, N)
    for r in range(N):
        for c in range(N):
            r_old, c_old = r + d_row, c + d_col
            inside = 0 <= r_old < N and 0 <= c_old < N
            if inside:
                assert state[:, r, c, 1:].tolist() == [[r_old, c_old]] * 2
                assert state[:, r, c, 0].tolist() == [0, 1]
                assert valid[:, r, c].tolist() == [(r_old, c_old) != (0, 0)] * 2
            else:
                assert not valid[:, r, c].any()
                assert not state[:, r, c].any()
    expected_valid = (N - abs(d_row)) * (N - abs(d_col))
    expected_valid -= int(d_row <= 0 and d_col <= 0)  # the invalid old (0, 0) is still inside
    assert int(new.valid[0].sum()) == expected_valid


@pytest.mark.parametrize('d_row,d_col', [(N, 0), (0, -N), (N + 3, 1), (-7, -7)])
def test_shift_of_n_or_more_cells_is_all_invalid(d_row, d_col):
    new = shift_hidden(_labelled_state(), d_row, d_col)
    assert not new.valid.any()
    assert new.state.shape == (2, N * N, D)


def test_inputs_are_not_modified_and_inference_tensors_work():
    with torch.inference_mode():
        old = _labelled_state()
    before = old.state.clone()
    new = shift_hidden(old, 1, 1)
    assert torch.equal(old.state, before)
    assert new.state.data_ptr() != old.state.data_ptr()


def test_bad_shift_or_shape_raises():
    with pytest.raises(ValueError, match='whole cells'):
        shift_hidden(_labelled_state(), 0.5, 0)
    bad = HiddenState(torch.zeros(1, 5, D), torch.zeros(1, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match='hidden state needs'):
        shift_hidden(bad, 1, 0)
