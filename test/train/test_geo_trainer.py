"""geo_trainer: a few steps on the real stream write last/best checkpoints that load."""

import json

from cvseq_localizer.data.geo_stream import validation_set
from cvseq_localizer.model.geo_checkpoint import load_geo_checkpoint
from cvseq_localizer.model.geo_config import GeoConfig
from cvseq_localizer.train.geo_trainer import GeoTrainConfig, train_geo


def test_two_stages_write_checkpoints(tmp_path):
    geo = GeoConfig.preset('geo_tiny')
    val = validation_set(geo, worlds=1, per_world=2)
    stream = {'world_size_m': 120.0, 'sequences_per_world': 2, 'frames': 2}
    common = dict(preset='geo_tiny', batch_size=2, frames=2, workers=0, threads=1,
                  max_steps=2, minutes=30.0, shuffle_buffer=1, stream=stream)  # fmt: skip
    s1 = tmp_path / 's1'
    train_geo(GeoTrainConfig(out_dir=str(s1), overrides={'temporal': False}, **common), val)
    model, extra = load_geo_checkpoint(s1 / 'best.pt')
    assert model.temporal is None and extra['sat_ground_m'] == geo.sat_ground_m
    assert extra['train_camera']['width_px'] == 320 and 'val' in extra
    s2 = tmp_path / 's2'
    tc = GeoTrainConfig(out_dir=str(s2), init=str(s1 / 'best.pt'), select='seq_mean_m', **common)
    summary = train_geo(tc, val)
    assert summary['steps'] == 2
    tam, _ = load_geo_checkpoint(s2 / 'last.pt')
    assert tam.temporal is not None
    history = json.loads((s2 / 'history.json').read_text())
    assert history[-1]['step'] == 2 and 'seq_mean_m' in history[-1]
