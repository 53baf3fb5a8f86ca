"""`cvseq-play BAG`: publish a rosbag2 (sqlite3 or mcap) into ROS 2 with rclpy, plus ``/clock``.

For machines with rclpy but without rosbag2 (``ros2 bag play``). The stored CDR bytes are
published as they are (``Publisher.publish`` accepts serialized ``bytes``), so any message type
whose Python package is installed can be played (others are skipped with one message each, e.g.
``/tf_static`` where ``tf2_msgs`` is not installed). ``/tf_static`` is published transient-local
(latched, as tf2 expects). ``/clock`` (rosgraph_msgs/Clock) carries the bag time of each message
and ticks at ``clock_hz`` (bag time) in between, so ``use_sim_time`` nodes follow the bag and
their timers run during gaps.

Example::

    cvseq-play .cache/sim/run0/bag --rate 0.5 --topics /camera/image_raw /gnss/fix
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvseq_localizer.tools.bagio import BagError, bag_topics, check_topics, raw_messages

log = logging.getLogger(__name__)
CLOCK_TOPIC = '/clock'
LATCHED_TOPICS = ('/tf_static',)  # transient-local durability, as tf2's static broadcaster


@dataclass
class PlayOptions:
    """How to play.

    Attributes:
        rate: playback speed factor (1 = recorded speed, 2 = twice as fast).
        topics: topics to publish; None = every topic whose message type is installed.
        loop: start over at the end (until interrupted).
        clock: publish ``/clock`` with the bag time before each message.
        clock_hz: also tick ``/clock`` at this rate of bag time between messages (0 = only at
            messages).
        wait_for_subscribers_s: before playing, wait up to this long until every publisher
            has a matched subscriber (0 = do not wait).
        after_publish: called with ``(topic, log_time_ns)`` after each message (tests use it to
            pace playback to the consumer).
        monotonic: the wall clock, s (tests pass a fake one with ``sleep``).
        sleep: waits the given seconds.
    """

    rate: float = 1.0
    topics: list[str] | None = None
    loop: bool = False
    clock: bool = True
    clock_hz: float = 100.0
    wait_for_subscribers_s: float = 0.0
    after_publish: Callable[[str, int], None] | None = field(default=None, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


@dataclass
class PlayResult:
    published: dict[str, int]
    skipped_topics: list[str]
    wall_s: float


def message_class(msgtype: str) -> Any | None:
    """The rclpy class of ``pkg/msg/Name`` (None when the package is not installed)."""
    package, _, name = msgtype.split('/')
    try:
        return getattr(importlib.import_module(f'{package}.msg'), name)
    except (ImportError, AttributeError):
        return None


def play(bag: str | Path, options: PlayOptions, node: Any) -> PlayResult:
    """Publish the messages of ``bag`` through ``node`` (an rclpy Node) in log-time order.

    Raises:
        BagError: missing or unreadable bag, or a requested topic that is not in it.
    """
    if options.rate <= 0:
        raise ValueError(f'rate must be > 0, got {options.rate}')
    connections = _connections(bag, options.topics)
    publishers, skipped = _publishers(node, connections)
    clock_pub = _clock_publisher(node) if options.clock else None
    _wait_for_subscribers(publishers, options.wait_for_subscribers_s)
    counts = dict.fromkeys(publishers, 0)
    t0 = options.monotonic()
    while True:
        _play_once(bag, publishers, clock_pub, options, counts)
        if not options.loop:
            break
    return PlayResult(counts, skipped, options.monotonic() - t0)


def _play_once(bag, publishers, clock_pub, options: PlayOptions, counts: dict) -> None:
    start_wall = options.monotonic()
    first_ns = None
    last_clock_ns = None
    if not publishers:  # (an empty topic list would mean every topic to the reader)
        return
    for topic, stamp_ns, raw in _raw_messages(bag, list(publishers)):
        first_ns = stamp_ns if first_ns is None else first_ns
        wall_at = functools.partial(_wall_at, start_wall, first_ns, options.rate)
        if clock_pub is not None and options.clock_hz > 0 and last_clock_ns is not None:
            for tick_ns in _clock_ticks(last_clock_ns, stamp_ns, options.clock_hz):
                _sleep_until(wall_at(tick_ns), options)
                clock_pub.publish(_clock_msg(tick_ns))
        _sleep_until(wall_at(stamp_ns), options)
        last_clock_ns = stamp_ns if last_clock_ns is None else max(last_clock_ns, stamp_ns)
        if clock_pub is not None:
            clock_pub.publish(_clock_msg(stamp_ns))
        publishers[topic].publish(raw)
        counts[topic] += 1
        if options.after_publish is not None:
            options.after_publish(topic, stamp_ns)


def _wall_at(start_wall_s: float, first_ns: int, rate: float, ns: int) -> float:
    """Wall time (s) at which bag time ``ns`` is due."""
    return start_wall_s + (ns - first_ns) * 1e-9 / rate


def _clock_ticks(after_ns: int, before_ns: int, hz: float) -> list[int]:
    """Bag times strictly between two messages on the ``hz`` grid (ns)."""
    step = int(round(1e9 / hz))
    first = (after_ns // step + 1) * step
    return list(range(first, before_ns, step))


def _sleep_until(wall_s: float, options: PlayOptions) -> None:
    delay = wall_s - options.monotonic()
    if delay > 0:
        options.sleep(delay)


def _connections(bag: str | Path, topics: list[str] | None) -> dict[str, str]:
    return bag_topics(bag) if topics is None else check_topics(bag, topics)


def _raw_messages(bag: str | Path, topics: list[str]) -> Iterator[tuple[str, int, bytes]]:
    """``(topic, log_time_ns, cdr_bytes)`` in log-time order."""
    for conn, stamp_ns, raw in raw_messages(bag, topics):
        yield conn.topic, stamp_ns, raw


def _publishers(node: Any, connections: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)  # fmt: skip
    publishers, skipped = {}, []
    for topic, msgtype in sorted(connections.items()):
        cls = message_class(msgtype)
        if cls is None:
            package = msgtype.split('/')[0]
            log.warning('skipping %s: message type %s is not installed (pip/apt package of '
                        '%s)', topic, msgtype, package)  # fmt: skip
            skipped.append(topic)
            continue
        profile = latched if topic in LATCHED_TOPICS else qos
        publishers[topic] = node.create_publisher(cls, topic, profile)
    return publishers, skipped


def _clock_publisher(node: Any) -> Any:
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock

    return node.create_publisher(
        Clock, CLOCK_TOPIC, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    )


def _clock_msg(stamp_ns: int) -> Any:
    from builtin_interfaces.msg import Time
    from rosgraph_msgs.msg import Clock

    sec, nanosec = divmod(int(stamp_ns), 1_000_000_000)
    return Clock(clock=Time(sec=sec, nanosec=nanosec))


def _wait_for_subscribers(publishers: dict[str, Any], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = list(publishers)
    while waiting and time.monotonic() < deadline:
        waiting = [t for t in waiting if publishers[t].get_subscription_count() == 0]
        time.sleep(0.01)
    if waiting and timeout_s > 0:
        log.warning('no subscriber after %.1f s on %s; playing anyway', timeout_s, waiting)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='cvseq-play', description=__doc__.splitlines()[0])
    parser.add_argument('bag', type=Path, help='rosbag2 directory (mcap or sqlite3)')
    parser.add_argument('--rate', type=float, default=1.0, help='playback speed factor')
    parser.add_argument('--topics', nargs='+', default=None, help='topics to play (default all)')
    parser.add_argument('--loop', action='store_true', help='play again at the end')
    parser.add_argument('--no-clock', action='store_true', help='do not publish /clock')
    parser.add_argument('--clock-hz', type=float, default=100.0,
                        help='/clock ticks per s of bag time (0 = at messages only)')  # fmt: skip
    parser.add_argument('--wait-for-subscribers', type=float, default=2.0, metavar='S',
                        help='wait up to S seconds for subscribers before playing')  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
    options = PlayOptions(args.rate, args.topics, args.loop, not args.no_clock, args.clock_hz,
                          args.wait_for_subscribers)  # fmt: skip
    import rclpy

    rclpy.init()
    node = rclpy.create_node('cvseq_play')
    try:
        result = play(args.bag, options, node)
    except (BagError, ValueError) as exc:
        print(f'cvseq-play: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(f'published {sum(result.published.values())} messages in {result.wall_s:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
