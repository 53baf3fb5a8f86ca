"""Fault injection over DDS: a 30 Hz camera with malformed messages mixed in, bad GNSS fixes, and
an HTTP tile server on 127.0.0.1 that answers 404/500/garbage/truncated/slow and is stopped and
restarted. The node keeps publishing, /diagnostics names each fault, and once the server is back
the share of frames that run the network is that of a clean run.

The vehicle stands still at the centre of the simulated world, so the same covering tiles are
asked for on every frame: each fault reaches the node through the retry of those tiles.
"""

import math
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from rclpy.parameter import Parameter
from ros_testkit import Collector, spinning, wait_until

from cvseq_localizer.ros.conversions import ns_to_stamp
from cvseq_localizer.ros.msgtypes import rclpy_types
from cvseq_localizer.tools.bagio import read_messages

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'hostile'))
from hostile_data import png_header_only  # noqa: E402
from mbtiles_server import MBTilesServer  # noqa: E402

pytestmark = pytest.mark.ros
IMAGE, FIX = '/camera/image_raw', '/gnss/fix'
WAIT_S = 60.0  # bound of every wait (back-off of a tile: 2-5 s per failure here)
WINDOW = 45  # frames over which the share of frames with the network is measured
# (server mode, text /diagnostics must show for it). A 404 between two faults resets the
# tiles' back-off (it counts missing tiles apart from failed ones), which keeps the waits short.
FAULTS = [
    ('404', 'not in the source'),
    ('500', 'HTTP 500'),
    ('404', 'not in the source'),
    ('corrupt', '17 bytes are not a decodable image'),
    ('404', 'not in the source'),
    ('truncated', 'bytes are not a decodable image'),
    ('404', 'not in the source'),
    ('slow', 'timed out'),
    ('404', 'not in the source'),
    ('stopped', 'refused'),
]


def _first_messages(sim_run) -> dict:
    """The drive's first camera frame and first fix, moved to the world's centre (the vehicle
    stands there: every tile around it is in the drive's tiles.mbtiles)."""
    run, scenario = sim_run
    first = {}
    for item in read_messages(run / 'bag', [IMAGE, FIX]):
        first.setdefault(item.topic, item.msg)
        if len(first) == 2:
            break
    first[FIX].latitude = scenario['datum']['lat_deg']
    first[FIX].longitude = scenario['datum']['lon_deg']
    return first


class Publisher:
    """Publish the camera at 30 Hz and GNSS at 10 Hz from a thread, with bad messages mixed in
    (every 3rd camera message, every 5th fix), restamped with the wall clock."""

    def __init__(self, node, first: dict, compressed: bool = False) -> None:
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage, Image, NavSatFix

        self.compressed = compressed
        image_type = CompressedImage if compressed else Image
        self.image_pub = node.create_publisher(image_type, IMAGE, qos_profile_sensor_data)
        self.fix_pub = node.create_publisher(NavSatFix, FIX, qos_profile_sensor_data)
        self.image, self.fix = first[IMAGE], first[FIX]
        self.sent = {'images': 0, 'bad_images': 0, 'fixes': 0, 'bad_fixes': 0}
        self.error: BaseException | None = None
        self._types = rclpy_types()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._guarded, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5.0)
        assert self.error is None, f'the publisher thread failed: {self.error!r}'

    def _guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by __exit__
            self.error = exc

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(1 / 30):
            stamp = ns_to_stamp(time.time_ns(), self._types)
            bad = tick % 3 == 2
            self.image_pub.publish(self._camera(stamp, tick // 3 if bad else None))
            self.sent['bad_images' if bad else 'images'] += 1
            if tick % 3 == 0:
                bad_fix = (tick // 3) % 5 == 4
                self.fix_pub.publish(self._gnss(stamp, tick // 15 if bad_fix else None))
                self.sent['bad_fixes' if bad_fix else 'fixes'] += 1
            tick += 1

    def _camera(self, stamp, bad: int | None):
        from sensor_msgs.msg import CompressedImage, Image

        if self.compressed:
            data = self._png if bad is None else [png_header_only(40000, 40000), b'junk'][bad % 2]
            return CompressedImage(header=self._header(stamp), format='png', data=data)
        img = self.image
        msg = Image(header=self._header(stamp), height=img.height, width=img.width,
                    encoding=img.encoding, step=img.step, data=img.data)  # fmt: skip
        if bad is not None:
            kind = bad % 3
            if kind == 0:
                msg.encoding = 'yuv422_weird'
            elif kind == 1:
                msg.data = bytes(self.image.data)[: len(self.image.data) // 2]
            else:  # 1 x 1 pixel
                msg.height, msg.width, msg.step, msg.data = 1, 1, 3, b'\x10\x20\x30'
        return msg

    @property
    def _png(self) -> bytes:
        import cv2

        if not hasattr(self, '_png_bytes'):
            rgb = np.frombuffer(bytes(self.image.data), np.uint8).reshape(
                self.image.height, self.image.width, 3
            )
            self._png_bytes = cv2.imencode('.png', rgb[..., ::-1])[1].tobytes()
        return self._png_bytes

    def _header(self, stamp):
        from std_msgs.msg import Header

        return Header(stamp=stamp, frame_id='camera')

    def _gnss(self, stamp, bad: int | None):
        from sensor_msgs.msg import NavSatFix

        fix = self.fix
        msg = NavSatFix(header=self._header(stamp), status=fix.status, latitude=fix.latitude,
                        longitude=fix.longitude, altitude=fix.altitude,
                        position_covariance=fix.position_covariance,
                        position_covariance_type=fix.position_covariance_type)  # fmt: skip
        if bad is not None:
            if bad % 2 == 0:
                msg.latitude = math.nan
            else:
                msg.latitude = 86.0  # valid WGS-84, outside Web Mercator
        return msg


def _status(diag_msg, name: str) -> dict[str, str]:
    for status in diag_msg.status:
        if status.name == f'cvseq_localizer: {name}':
            return {kv.key: kv.value for kv in status.values}
    return {}


def _node(ros_context, model: Path, tiles: str, zoom: int, compressed: bool = False):
    from cvseq_localizer.ros.node import LocalizerNode

    values = {'model_path': str(model), 'engine': 'torch', 'tiles': tiles, 'tile_zoom': zoom,
              'diagnostics_period_s': 0.1, 'compressed': compressed}  # fmt: skip
    params = [Parameter(k, value=v) for k, v in values.items()]
    return LocalizerNode(context=ros_context, parameter_overrides=params)


def _share_with_network(node, frames: int = WINDOW) -> float:
    """Frames with the network / frames over the next ``frames`` frames the Localizer ran."""
    start = node.localizer.health()
    wait_until(lambda: node.localizer.health().frames >= start.frames + frames, WAIT_S,
               f'{frames} more frames through the localizer')  # fmt: skip
    end = node.localizer.health()
    return (end.frames_with_network - start.frames_with_network) / (end.frames - start.frames)


def _wait_network(node, when: str) -> None:
    try:
        wait_until(lambda: node.localizer.health().frames_with_network > 0, WAIT_S,
                   f'the network to run {when}')  # fmt: skip
    except AssertionError as err:
        raise AssertionError(f'{err}; localizer health: {node.localizer.health()}') from None


def _tiles_url(server: MBTilesServer) -> str:
    # Bounded fetches: 0.5 s per attempt, one retry, 1.5 s in all (a slow tile cannot stall).
    return f'{server.url}#timeout_s=0.5&retries=1&fetch_budget_s=1.5'


def _run_clean(ros_context, sim_run, model) -> float:
    from rclpy.node import Node

    run, scenario = sim_run
    server = MBTilesServer(run / 'tiles.mbtiles')
    try:
        node = _node(ros_context, model, _tiles_url(server), int(scenario['tile_zoom']))
        probe = Node('clean_probe', context=ros_context)
        with spinning(ros_context, node, probe), Publisher(probe, _first_messages(sim_run)):
            _wait_network(node, 'on a clean server')
            return _share_with_network(node)
    finally:
        server.stop()


def test_node_survives_bad_messages_and_a_failing_tile_server(
    sim_run, tiny_checkpoint, ros_context
):
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node

    clean_share = _run_clean(ros_context, sim_run, tiny_checkpoint)
    assert clean_share > 0.5, f'clean run: only {clean_share:.0%} of frames ran the network'
    run, scenario = sim_run
    server = MBTilesServer(run / 'tiles.mbtiles')
    server.mode, server.delay_s = '404', 3.0
    node = _node(ros_context, tiny_checkpoint, _tiles_url(server), int(scenario['tile_zoom']))
    probe = Node('probe', context=ros_context)
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    diags = Collector(probe, DiagnosticArray, '/diagnostics')
    try:
        with spinning(ros_context, node, probe), Publisher(probe, _first_messages(sim_run)):
            for mode, needle in FAULTS:
                _inject(server, mode)
                seen, published = len(diags.messages), len(poses.messages)
                what = f'/diagnostics naming the {mode} fault ({needle!r})'
                wait_until(lambda n=needle, s=seen: _tile_reason_seen(diags.messages[s:], n),
                           WAIT_S, what)  # fmt: skip
                wait_until(lambda p=published: len(poses.messages) >= p + 3, WAIT_S,
                           f'poses while the tile server is {mode}')  # fmt: skip
            assert node.localizer.health().frames_with_network == 0  # no tile ever arrived
            server.mode = 'ok'
            server.start()
            _wait_network(node, 'after the server returned')
            share = _share_with_network(node)
            inputs = _status(diags.messages[-1], 'inputs')
    finally:
        server.stop()
    assert share >= 0.95 * clean_share, f'after the outage {share:.0%}, clean {clean_share:.0%}'
    assert int(inputs['bad_image_encoding']) > 0 and int(inputs['bad_image_size']) > 0
    assert int(inputs['bad_fix_invalid_position']) > 0
    assert all(math.isfinite(m.pose.pose.position.x) for m in poses.messages)


def _inject(server: MBTilesServer, mode: str) -> None:
    if mode == 'stopped':
        server.stop()
    else:
        server.start()
        server.mode = mode


def _tile_reason_seen(diag_msgs, needle: str) -> bool:
    return any(needle in _status(m, 'tile service').get('last_reason', '') for m in diag_msgs)


def test_compressed_camera_with_png_bombs_keeps_publishing(sim_run, ros_context):
    """A 68-byte PNG declaring 40000 x 40000 pixels (and junk bytes) among 30 Hz compressed
    frames: refused before decoding, counted, named in /diagnostics; poses keep coming."""
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseWithCovarianceStamped
    from rclpy.node import Node

    from cvseq_localizer.ros.node import LocalizerNode

    assert len(png_header_only(40000, 40000)) == 68
    values = {'allow_gnss_only': True, 'model_path': '/nonexistent.pt', 'compressed': True,
              'diagnostics_period_s': 0.1}  # fmt: skip
    params = [Parameter(k, value=v) for k, v in values.items()]
    node = LocalizerNode(context=ros_context, parameter_overrides=params)
    probe = Node('probe', context=ros_context)
    poses = Collector(probe, PoseWithCovarianceStamped, '/cvloc/pose')
    diags = Collector(probe, DiagnosticArray, '/diagnostics')
    with spinning(ros_context, node, probe), Publisher(probe, _first_messages(sim_run), True):
        wait_until(lambda: len(node.counters.bad_images) >= 2 and len(poses.messages) >= 10,
                   WAIT_S, 'both kinds of bad compressed frame and 10 poses')  # fmt: skip
        published = len(poses.messages)
        wait_until(lambda: len(poses.messages) >= published + 10, WAIT_S, 'more poses')
        wait_until(lambda: 'bad_image_too_large' in _status(diags.messages[-1], 'inputs'),
                   WAIT_S, '/diagnostics naming the oversized PNG')  # fmt: skip
        inputs = _status(diags.messages[-1], 'inputs')
    assert int(inputs['bad_image_too_large']) > 0 and int(inputs['bad_image_encoding']) > 0
    assert int(inputs['images']) > int(inputs['bad_image_too_large'])


def test_diagnostics_name_camera_frames_the_engine_refuses(sim_run, tiny_checkpoint, ros_context):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node

    run, scenario = sim_run
    tiles = f'mbtiles://{run / "tiles.mbtiles"}'
    node = _node(ros_context, tiny_checkpoint, tiles, int(scenario['tile_zoom']))
    probe = Node('probe', context=ros_context)
    diags = Collector(probe, DiagnosticArray, '/diagnostics')
    with spinning(ros_context, node, probe), Publisher(probe, _first_messages(sim_run)):
        wait_until(lambda: node.localizer.health().frames_skipped.get('bad_frame', 0) > 0,
                   WAIT_S, 'the Localizer to refuse a 1 x 1 frame')  # fmt: skip
        seen = len(diags.messages)
        wait_until(lambda: len(diags.messages) > seen, WAIT_S, 'a later /diagnostics')
    keys = {kv.key for status in diags.messages[-1].status for kv in status.values}
    assert any('bad_frame' in key for key in keys), sorted(keys)
