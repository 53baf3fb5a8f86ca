"""cvseq-evaluate lists the bad records replay skipped (topic, stamp, kind) in its report."""

import json
import shutil

import numpy as np
from drive_kit import make_drive

from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.ros.conversions import rgb_to_image_msg
from cvseq_localizer.tools.bagio import BagWriter, bag_topics, read_messages
from cvseq_localizer.tools.evaluate import evaluate
from cvseq_localizer.tools.replay import ReplayOptions

IMAGE = '/camera/image_raw'


def _drive_with_bad_frames(root):
    """A copy of a simulated drive whose every 10th camera frame has an unknown encoding;
    returns the new bag and the stamps of the bad frames."""
    bag, _ = make_drive(root / 'src')
    sim = root / 'sim'
    shutil.copytree(bag.parent, sim, ignore=shutil.ignore_patterns('bag'))
    bad_stamps, frames = [], 0
    with BagWriter(sim / 'bag') as out:
        for item in read_messages(bag, list(bag_topics(bag))):
            msg = item.msg
            if item.topic == IMAGE:
                frames += 1
                if frames % 10 == 0:
                    msg = rgb_to_image_msg(np.zeros((4, 4, 3), np.uint8), item.stamp_ns, 'cam',
                                           out.types)  # fmt: skip
                    msg.encoding = 'yuv422_weird'
                    bad_stamps.append(item.stamp_ns)
            out.write(item.topic, item.stamp_ns, msg)
    return sim / 'bag', bad_stamps


def test_evaluate_lists_skipped_records_in_report_and_metrics(tmp_path):
    bag, bad_stamps = _drive_with_bad_frames(tmp_path)
    assert len(bad_stamps) == 4
    pipeline = PipelineConfig(allow_gnss_only=True, tile_deadline_s=None)
    options = ReplayOptions(progress=False, pipeline=pipeline)
    summary = evaluate(bag, tmp_path / 'report', pipeline, options)
    expected = [{'topic': IMAGE, 'stamp_ns': s, 'kind': 'encoding'} for s in bad_stamps]
    assert summary['skipped']['gnss'] == {'count': 4, 'records': expected}
    metrics = json.loads((tmp_path / 'report' / 'metrics.json').read_text())
    assert metrics['skipped']['gnss']['records'] == expected
    report = (tmp_path / 'report' / 'report.md').read_text()
    assert 'gnss: 4 record(s) skipped' in report
    assert all(f'`{IMAGE}` at {s} ns: encoding' in report for s in bad_stamps)
