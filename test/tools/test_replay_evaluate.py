"""End to end: simulated drive -> replay with a tiny model -> evaluation report; bad bags."""

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from cvseq_localizer.model.checkpoint import save_checkpoint
from cvseq_localizer.model.config import ModelConfig
from cvseq_localizer.model.net import build_model
from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.ros.conversions import rgb_to_image_msg
from cvseq_localizer.sim.scenario import SimConfig
from cvseq_localizer.sim.world import WorldConfig
from cvseq_localizer.tools.bagio import BagError, BagWriter, read_messages
from cvseq_localizer.tools.evaluate import REFERENCE_ROWS, ROWS, evaluate
from cvseq_localizer.tools.replay import ReplayOptions, replay
from cvseq_localizer.tools.scenario_files import default_tiles_for_bag

SIM = SimConfig(world=WorldConfig(size_m=200.0, res_m=0.25), duration_s=4.0)


@pytest.fixture(scope='module')
def drive(tmp_path_factory):
    from cvseq_localizer.tools.sim_cli import write_scenario

    root = tmp_path_factory.mktemp('drive')
    write_scenario(root / 'sim', SIM, seed=4)
    torch.manual_seed(0)
    model = root / 'tiny.pt'
    save_checkpoint(build_model(ModelConfig.preset('tiny')), model, extra={'sat_ground_m': 48.0})
    return root / 'sim' / 'bag', model


def options(bag: Path, model: Path, seed: int = 0) -> ReplayOptions:
    tiles, zoom = default_tiles_for_bag(bag)
    pipeline = PipelineConfig(model_path=str(model), engine='torch', tiles=tiles, tile_zoom=zoom,
                              seed=seed, tile_deadline_s=None)  # fmt: skip
    return ReplayOptions(progress=False, pipeline=pipeline)


def rows(path: Path) -> list[dict]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_replay_runs_the_network_and_is_deterministic(drive, tmp_path):
    bag, model = drive
    first = replay(bag, tmp_path / 'a', options(bag, model))
    # The automatic datum needs 3 agreeing fixes (10 Hz: frames 0-1 come before it).
    assert first.frames == 40 and first.estimates == 38 and first.skipped_images == 0
    assert first.stats['frames_with_network'] == 38 and first.stats['tiles_encoded'] >= 1
    poses = list(read_messages(first.bag_path, ['/cvloc/pose']))
    assert len(poses) == 38
    assert poses[0].msg.header.frame_id == 'map'
    table = rows(first.csv_path)
    assert all(np.isfinite(float(r['net_lat_deg'])) for r in table)
    second = replay(bag, tmp_path / 'b', options(bag, model))
    assert rows(second.csv_path) == table
    third = replay(bag, tmp_path / 'c', options(bag, model, seed=1))
    assert rows(third.csv_path) != table


def test_evaluate_writes_table_and_plots(drive, tmp_path):
    bag, model = drive
    opts = options(bag, model)
    summary = evaluate(bag, tmp_path / 'report', opts.pipeline, opts)
    # A learned model is compared with the training-free geometric matcher in the same run.
    assert list(summary['table']) == [*ROWS, *REFERENCE_ROWS]
    fused = summary['table']['filter: GNSS + network']
    assert 0 < fused['nees_mean'] and 0 <= fused['within_2sigma_frac'] <= 1
    raw = summary['table']['raw GNSS']
    assert raw['n'] == 40 and 0 < raw['mean_m'] < 30
    for name in ('report.md', 'metrics.json', 'trajectories.png', 'error_cdf.png'):
        assert (tmp_path / 'report' / name).stat().st_size > 0
    assert 'filter: GNSS + network' in (tmp_path / 'report' / 'report.md').read_text()
    assert json.loads((tmp_path / 'report' / 'metrics.json').read_text())['model'] == str(model)


def test_missing_topic_is_named(drive, tmp_path):
    bag, model = drive
    opts = options(bag, model)
    opts = replace(opts, image_topic='/front/image')
    with pytest.raises(BagError, match='/front/image'):
        replay(bag, tmp_path / 'x', opts)


def test_unknown_encoding_frames_are_skipped(drive, tmp_path):
    bag, model = drive
    bad = tmp_path / 'bad'
    with BagWriter(bad) as out:
        for item in read_messages(bag, ['/camera/image_raw', '/gnss/fix']):
            msg = item.msg
            if item.topic == '/camera/image_raw':
                stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
                msg = rgb_to_image_msg(np.zeros((4, 4, 3), np.uint8), stamp, 'cam', out.types)
                msg.encoding = 'yuv422'
            out.write(item.topic, item.stamp_ns, msg)
    result = replay(bad, tmp_path / 'y', options(bag, model))
    assert result.skipped_images == 40 and result.estimates == 0


def test_truncated_bag_is_a_clear_error(drive, tmp_path):
    bag, model = drive
    broken = tmp_path / 'broken'
    shutil.copytree(bag, broken)
    data = next(broken.glob('*.mcap'))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 3])
    with pytest.raises(BagError, match='broken'):
        replay(broken, tmp_path / 'z', options(bag, model))


def test_evaluate_cli_defaults_to_the_shipped_network(drive, tmp_path, capsys):
    """`cvseq-evaluate BAG --out DIR` as the README shows it: the default engine's rows are
    there (the geometric matcher: it is its own reference, so no extra rows)."""
    from cvseq_localizer.shipped import default_model
    from cvseq_localizer.tools.evaluate import main

    bag, _ = drive
    assert main([str(bag), '--out', str(tmp_path / 'ev')]) == 0
    printed = capsys.readouterr().out
    assert ROWS[2] in printed and ROWS[3] in printed and 'Runs:' not in printed
    metrics = json.loads((tmp_path / 'ev' / 'metrics.json').read_text())
    assert metrics['model'] == default_model() and list(metrics['table']) == list(ROWS)
    assert metrics['runs']['fused']['frames_with_network'] > 0
    assert main([str(bag), '--out', str(tmp_path / 'gnss'), '--gnss-only']) == 0
    gnss = json.loads((tmp_path / 'gnss' / 'metrics.json').read_text())
    assert gnss['model'] is None and list(gnss['table']) == list(ROWS[:2])


def test_replay_result_poses_match_the_csv(drive, tmp_path):
    bag, model = drive
    result = replay(bag, tmp_path / 'a', options(bag, model))
    table = rows(result.csv_path)
    assert [int(r['stamp_ns']) for r in table] == result.poses.stamp_ns.tolist()
    np.testing.assert_array_equal([float(r['lat_deg']) for r in table], result.poses.lat_deg)
    np.testing.assert_array_equal(
        [float(r['net_lon_deg']) for r in table], result.poses.net_lon_deg
    )
