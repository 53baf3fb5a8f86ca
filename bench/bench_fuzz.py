"""Long-mode fuzzing of the ROS message conversions (the fast mode runs in ``make test``).

Run: ``.venv/bin/python bench/bench_fuzz.py [--cases 100000] [--hypothesis 500] [--seed 0]``.
Cases come from the seeded numpy generator in ``test/hostile/fuzz_cases.py`` (raw images of any
encoding/size/step/payload, PNG/JPEG payloads whole, cut or corrupted, headers declaring up to
70000 x 70000 pixels, NavSatFix with any numbers, statuses and covariances); every 1,000th case
is the 68-byte 40000 x 40000 PNG header or a 392 KB 20000 x 20000 PNG bomb. ``--hypothesis``
more cases are drawn by the Hypothesis strategies of the same file.

Writes ``bench/results/fuzz.json``: ``cases``, ``escaped`` (exceptions other than
ConversionError), ``nan`` (results with NaN or out of bounds), ``peak_rss_mb``,
``slowest_case_ms``, ``slowest_case_kind`` and ``count_<kind>_<outcome>`` per outcome.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'test' / 'hostile'))
RESULTS = ROOT / 'bench' / 'results' / 'fuzz.json'

from fuzz_cases import InvalidResult, check_case, messages, random_case  # noqa: E402
from hostile_data import png_bomb, png_header_only  # noqa: E402


class Tally:
    """Outcome counts, failures and the slowest case."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.escaped = self.invalid = 0
        self.slowest_s, self.slowest_kind = 0.0, ''
        self.examples: list[str] = []

    def run(self, kind: str, msg: SimpleNamespace) -> None:
        t0 = time.perf_counter()
        try:
            outcome = check_case(kind, msg)
        except InvalidResult as err:
            self.invalid += 1
            outcome = f'{kind}:invalid'
            self._keep(f'invalid {kind}: {err}')
        except Exception:  # the defect this benchmark hunts: count it, keep going
            self.escaped += 1
            outcome = f'{kind}:escaped'
            self._keep(traceback.format_exc(limit=3))
        elapsed = time.perf_counter() - t0
        if elapsed > self.slowest_s:
            self.slowest_s, self.slowest_kind = elapsed, outcome
        self.counts[outcome] += 1

    def _keep(self, text: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(text)


def hostile_specials() -> list[tuple[str, SimpleNamespace]]:
    header = SimpleNamespace(stamp=SimpleNamespace(sec=1, nanosec=0), frame_id='cam')
    return [
        ('compressed', SimpleNamespace(header=header, format='png', data=data))
        for data in (png_header_only(40000, 40000), png_bomb(20000, 20000))
    ]


def run_hypothesis(tally: Tally, examples: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(messages())
    def body(case):
        tally.run(*case)

    body()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cases', type=int, default=100_000, help='numpy-generated cases')
    parser.add_argument('--hypothesis', type=int, default=500, help='Hypothesis-drawn cases')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    specials = hostile_specials()
    tally = Tally()
    t0 = time.monotonic()
    for i in range(args.cases):
        tally.run(*(specials[(i // 1000) % 2] if i % 1000 == 999 else random_case(rng)))
    if args.hypothesis:
        run_hypothesis(tally, args.hypothesis)
    result = {
        'cases': sum(tally.counts.values()),
        'escaped': tally.escaped,
        'nan': tally.invalid,
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        'slowest_case_ms': round(1000.0 * tally.slowest_s, 2),
        'slowest_case_kind': tally.slowest_kind,
        'total_s': round(time.monotonic() - t0, 1),
        'seed': args.seed,
    }
    for outcome, n in sorted(tally.counts.items()):
        result['count_' + outcome.replace(':', '_')] = n
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))
    for example in tally.examples:
        print(example, file=sys.stderr)


if __name__ == '__main__':
    main()
