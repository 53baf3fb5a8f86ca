"""Array-library-free geometry of ``shift_hidden``: shared by the torch and numpy versions.

Grid cells are row-major tokens ``row * N + col`` (row 0 = north edge, row grows south, col grows
east). Shifting by ``(d_row, d_col)`` whole cells moves old cell ``(r, c)`` to
``(r - d_row, c - d_col)``; cells entering the grid are empty.
"""

from __future__ import annotations

from collections.abc import Sequence


def hidden_grid_n(state_shape: Sequence[int], valid_shape: Sequence[int]) -> int:
    """Grid size ``N`` of a hidden state ``state [B, N^2, D]`` with ``valid [B, N^2]``.

    Raises:
        ValueError: the shapes are not of that form.
    """
    n2 = int(state_shape[1]) if len(state_shape) == 3 else -1
    n = int(round(max(n2, 0) ** 0.5))
    if n2 < 0 or n * n != n2 or tuple(valid_shape) != (int(state_shape[0]), n2):
        raise ValueError(
            f'hidden state needs state [B, N^2, D] and valid [B, N^2], got '
            f'{tuple(state_shape)} and {tuple(valid_shape)}'
        )
    return n


def shift_slices(
    d_row: int | float, d_col: int | float, n: int
) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """``((src_rows, src_cols), (dst_rows, dst_cols))`` for a shift, or ``None`` when nothing of
    the old grid remains (a shift of ``n`` or more cells along an axis).

    Raises:
        ValueError: a shift that is not a whole number of cells.
    """
    if int(d_row) != d_row or int(d_col) != d_col:
        raise ValueError(f'shift ({d_row}, {d_col}) must be whole cells')
    d_row, d_col = int(d_row), int(d_col)
    if abs(d_row) >= n or abs(d_col) >= n:
        return None
    src_r, dst_r = _ranges(d_row, n)
    src_c, dst_c = _ranges(d_col, n)
    return (src_r, src_c), (dst_r, dst_c)


def _ranges(shift: int, n: int) -> tuple[slice, slice]:
    """Source and destination slices along one axis: new index = old index - shift."""
    if shift >= 0:
        return slice(shift, n), slice(0, n - shift)
    return slice(0, n + shift), slice(-shift, n)
