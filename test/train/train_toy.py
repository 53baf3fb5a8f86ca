"""A tiny learnable dataset for training tests: the camera sees a crop of the tile at its spot."""

import numpy as np
from torch.utils.data import Dataset

from cvseq_localizer.data.sample import SequenceSample


class ToyDataset(Dataset):
    def __init__(self, count: int, frames: int = 3, seed: int = 0, sat_px: int = 64):
        rng = np.random.default_rng(seed)
        self.samples = []
        for i in range(count):
            sat = rng.integers(0, 255, (sat_px, sat_px, 3), dtype=np.uint8)
            uv = np.stack(
                [rng.uniform(24, sat_px - 24, frames), rng.uniform(8, sat_px - 8, frames)], 1
            )
            ground = np.stack([
                np.ascontiguousarray(sat[int(v) - 8 : int(v) + 8, int(u) - 24 : int(u) + 24])
                for u, v in uv
            ])  # fmt: skip
            self.samples.append(SequenceSample(ground, sat, uv, 0.5, f'toy/{i}'))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]
