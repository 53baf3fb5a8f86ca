"""Helpers for the converter tests: read a bag's topics, replay/evaluate a converted bag.

``replay_and_evaluate`` is the one place that calls ``cvseq-replay`` / ``cvseq-evaluate`` (their
signatures may change; keep calls here).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from cvseq_localizer.tools.bagio import bag_topics, read_messages

# The dataset fixtures live in test/data (tests import modules by file name, no packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'data'))
from convert_fixtures import *  # noqa: E402, F403 (re-exported for the tests)
from fixtures import straight_drive  # noqa: E402, F401


def messages_by_topic(bag: Path) -> dict[str, list]:
    """``{topic: [BagMessage, ...]}`` of every topic in ``bag``."""
    out = defaultdict(list)
    for m in read_messages(bag, list(bag_topics(bag))):
        out[m.topic].append(m)
    return dict(out)


def replay_and_evaluate(
    bag: Path, out: Path, image_topic: str = '/camera/image_raw'
) -> tuple[int, int]:
    """Run ``cvseq-replay`` and ``cvseq-evaluate`` (GNSS only, no tiles) through their entry
    points; returns their exit codes."""
    from cvseq_localizer.tools import evaluate, replay

    args = ['--gnss-only', '--image-topic', image_topic]
    code_replay = replay.main([str(bag), '--out', str(out / 'replay'), *args])
    code_eval = evaluate.main([str(bag), '--out', str(out / 'eval'), *args])
    return code_replay, code_eval
