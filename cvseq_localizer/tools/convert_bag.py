"""The dataset-independent half of ``cvseq-convert``: topics, messages and the bag layout.

A converted bag holds (frames: ``base_link`` on the ground under the dataset's reference
sensor, x forward, y left, z up; ``camera`` = the camera's optical frame, x right, y down,
z forward; ``map`` = ENU at the first ground-truth fix)::

    /camera/image_raw        sensor_msgs/Image rgb8, frame camera (with --compress jpeg|png:
                             /camera/image_raw/compressed, sensor_msgs/CompressedImage)
    /camera/camera_info      sensor_msgs/CameraInfo (one per image; plumb_bob, zeros if rectified)
    /tf_static               tf2_msgs/TFMessage base_link -> camera (transient local, once)
    /gnss/fix                sensor_msgs/NavSatFix, frame gnss: the GNSS the node consumes
    /ground_truth/fix        sensor_msgs/NavSatFix: the reference (RTK/INS) position
    /ground_truth/odometry   nav_msgs/Odometry map -> base_link: reference ENU position + yaw
    /odom                    nav_msgs/Odometry odom -> base_link (with --odom; noise-free, or
                             KITTI --odom-noise: sim.odometry's error model)

Beside the data, the bag directory gets ``camera.json`` (the core ``CameraModel``),
``route.csv`` (lat, lon of the reference, for ``cvseq-tiles prefill --route``) and
``convert.json`` (source, options, message counts).
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from tqdm import tqdm

from cvseq_localizer.geo import LocalFrame
from cvseq_localizer.geo.camera import CameraModel
from cvseq_localizer.ros.conversions import (
    estimate_to_odometry,
    gnss_to_navsatfix,
)
from cvseq_localizer.sim.gnss_model import GnssErrorConfig, gnss_profile, simulate_gnss
from cvseq_localizer.tools.bagio import BagWriter
from cvseq_localizer.tools.convert_msgs import (
    FRAMES,
    TOPICS,
    ImageOutput,
    OdomSamples,
    camera_info_msg,
    odometry_messages,
    tf_static_msg,
    topics_for,
)
from cvseq_localizer.types import (
    COVARIANCE_TYPE_DIAGONAL_KNOWN,
    COVARIANCE_TYPE_UNKNOWN,
    STATUS_FIX,
    STATUS_NO_FIX,
    Estimate,
    GnssFix,
)

_ZERO = QosTime(0, 0)
LATCHED_QOS = Qos(QosHistory.KEEP_LAST, 1, QosReliability.RELIABLE, QosDurability.TRANSIENT_LOCAL,
                  _ZERO, _ZERO, QosLiveliness.AUTOMATIC, _ZERO, False)  # fmt: skip


class ConvertWriter(BagWriter):
    """:class:`BagWriter` plus latched (transient-local) topics such as ``/tf_static``.

    (Uses BagWriter's private writer/store; a ``qos`` argument on ``BagWriter.write`` would make
    this subclass unnecessary.)
    """

    def declare(self, topic: str, msgtype: str, latched: bool = False) -> None:
        """Register ``topic`` before its first message (so it exists even with none);
        ``latched``: transient-local QoS, as ``/tf_static`` needs."""
        qos = [LATCHED_QOS] if latched else []
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self._store, offered_qos_profiles=qos
        )

    def msg_class(self, name: str) -> Any:
        """A message class of the bag's type store by full ROS name."""
        return self._store.types[name]


@dataclass(frozen=True)
class Truth:
    """The reference trajectory of ``base_link`` (``(N,)`` arrays, time-sorted).

    ``yaw_rad`` is ENU (0 = east, counter-clockwise); ``sigma_m`` the reported horizontal
    accuracy per axis (NaN if unknown).
    """

    stamp_ns: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    yaw_rad: np.ndarray
    speed_mps: np.ndarray
    sigma_m: np.ndarray

    def subset(self, keep: np.ndarray) -> Truth:
        return Truth(*(np.asarray(getattr(self, f))[keep] for f in self.__dataclass_fields__))

    def frame(self) -> LocalFrame:
        """ENU frame at the first fix (the bag's ``map`` frame)."""
        return LocalFrame(float(self.lat_deg[0]), float(self.lon_deg[0]), float(self.alt_m[0]))

    def xy_enu_m(self, frame: LocalFrame) -> np.ndarray:
        e, n, _ = frame.to_enu(self.lat_deg, self.lon_deg)
        return np.stack([np.atleast_1d(e), np.atleast_1d(n)], axis=-1)


@dataclass
class Drive:
    """What a dataset reader hands to :func:`write_drive`.

    ``image_stamps_ns`` ``(M,)`` sorted; ``load_image(k)`` -> ``H x W x 3`` RGB of frame ``k``.
    """

    source: str
    camera: CameraModel
    image_stamps_ns: np.ndarray
    load_image: Callable[[int], np.ndarray]
    truth: Truth
    gnss: list[GnssFix]
    notes: dict[str, Any] = field(default_factory=dict)
    odom: OdomSamples | None = None  # written as /odom when given


def select_frames(
    stamps_ns: np.ndarray, start_s: float | None, end_s: float | None, stride: int
) -> np.ndarray:
    """Indices of frames in ``[start_s, end_s]`` (seconds after the first frame), every
    ``stride``-th. Raises ValueError if none is left."""
    if stride < 1:
        raise ValueError(f'stride must be >= 1 (got {stride})')
    t = (np.asarray(stamps_ns, np.int64) - int(stamps_ns[0])) * 1e-9
    keep = np.ones(len(t), bool)
    if start_s is not None:
        keep &= t >= start_s
    if end_s is not None:
        keep &= t <= end_s
    idx = np.nonzero(keep)[0][::stride]
    if idx.size == 0:
        raise ValueError(f'no camera frame in the time range [{start_s}, {end_s}] s')
    return idx


def window(stamps_ns: np.ndarray, lo_ns: int, hi_ns: int, margin_ns: int = 10**9) -> np.ndarray:
    """Boolean mask of stamps within ``[lo - margin, hi + margin]``."""
    s = np.asarray(stamps_ns, np.int64)
    return (s >= lo_ns - margin_ns) & (s <= hi_ns + margin_ns)


def simulated_gnss(
    truth: Truth, rate_hz: float, seed: int, profile: str | GnssErrorConfig = 'default'
) -> list[GnssFix]:
    """The reference degraded by the project's GNSS error model at ``rate_hz`` on a uniform
    clock over the reference's time span; ``profile``: a ``sim.gnss_model`` profile name
    (``open``, ``default``, ``urban``) or an explicit config.

    Raises:
        ValueError: a rate that is not > 0 or an unknown profile name.
    """
    cfg = gnss_profile(profile) if isinstance(profile, str) else profile
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f'GNSS rate must be > 0 Hz (got {rate_hz})')
    t0, t1 = int(truth.stamp_ns[0]), int(truth.stamp_ns[-1])
    n = int((t1 - t0) * 1e-9 * rate_hz) + 1
    stamps = t0 + np.round(np.arange(n) * 1e9 / rate_hz).astype(np.int64)
    frame = truth.frame()
    xy = truth.xy_enu_m(frame)
    rel = (truth.stamp_ns - t0) * 1e-9
    s = (stamps - t0) * 1e-9
    grid = np.stack([np.interp(s, rel, xy[:, 0]), np.interp(s, rel, xy[:, 1])], axis=-1)
    sim = simulate_gnss(stamps, grid, frame, cfg, np.random.default_rng(seed))
    return sim.fixes


def sigma_fix(stamp_ns: int, lat: float, lon: float, alt: float, sig_e: float, sig_n: float,
              sig_u: float) -> GnssFix:  # fmt: skip
    """A fix with a diagonal ENU covariance from per-axis sigmas (unknown if any is bad)."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        nan = float('nan')
        return GnssFix(stamp_ns, nan, nan, nan, np.zeros((3, 3)), COVARIANCE_TYPE_UNKNOWN,
                       STATUS_NO_FIX)  # fmt: skip
    sig = np.array([sig_e, sig_n, sig_u], np.float64)
    if np.all(np.isfinite(sig)) and np.all(sig > 0):
        cov, kind = np.diag(sig**2), COVARIANCE_TYPE_DIAGONAL_KNOWN
    else:
        cov, kind = np.zeros((3, 3)), COVARIANCE_TYPE_UNKNOWN
    return GnssFix(int(stamp_ns), float(lat), float(lon), float(alt), cov, kind, STATUS_FIX)


def truth_messages(truth: Truth, types) -> list[tuple[int, str, Any]]:
    """``/ground_truth/fix`` and ``/ground_truth/odometry`` at every reference epoch."""
    frame = truth.frame()
    xy = truth.xy_enu_m(frame)
    out = []
    for k, stamp in enumerate(truth.stamp_ns.tolist()):
        est = Estimate(
            stamp, xy[k], np.zeros((2, 2)), float(truth.yaw_rad[k]), 0.0,
            float(truth.speed_mps[k]), ess=0.0, gnss_only=False,
            lat_deg=float(truth.lat_deg[k]), lon_deg=float(truth.lon_deg[k]),
        )  # fmt: skip
        sig = float(truth.sigma_m[k])
        fix = sigma_fix(stamp, float(truth.lat_deg[k]), float(truth.lon_deg[k]),
                        float(truth.alt_m[k]), sig, sig, 2 * sig)  # fmt: skip
        out.append((stamp, TOPICS['gt_fix'], gnss_to_navsatfix(fix, FRAMES['map'], types)))
        odom = estimate_to_odometry(est, FRAMES['map'], FRAMES['base_link'], types)
        out.append((stamp, TOPICS['gt_odometry'], odom))
    return out


def _write_all(
    bag: ConvertWriter, drive: Drive, frames: Iterable[int], counts: dict, images: ImageOutput
) -> None:
    types = bag.types
    image_topic = topics_for(images.compress)['image'][0]
    pending = [(f.stamp_ns, TOPICS['gnss'], gnss_to_navsatfix(f, FRAMES['gnss'], types))
               for f in drive.gnss]  # fmt: skip
    pending += truth_messages(drive.truth, types)
    if drive.odom is not None:
        pending += odometry_messages(drive.odom, types)
    pending.sort(key=lambda m: m[0])  # stable: ties keep a fixed order (deterministic bytes)
    j = 0
    for k in frames:
        stamp = int(drive.image_stamps_ns[k])
        while j < len(pending) and pending[j][0] <= stamp:
            bag.write(pending[j][1], pending[j][0], pending[j][2])
            counts[pending[j][1]] += 1
            j += 1
        bag.write(image_topic, stamp, images.message(drive.load_image(k), stamp, types))
        bag.write(TOPICS['camera_info'], stamp, camera_info_msg(drive.camera, stamp, bag))
        counts[image_topic] += 1
        counts[TOPICS['camera_info']] += 1
    for stamp, topic, msg in pending[j:]:
        bag.write(topic, stamp, msg)
        counts[topic] += 1


def write_drive(
    drive: Drive,
    out: str | Path,
    frames: np.ndarray,
    storage: str = 'mcap',
    progress: bool = True,
    images: ImageOutput | None = None,
) -> dict[str, int]:
    """Write the bag ``out`` (+ its side files) from ``drive``'s camera ``frames`` (indices).

    Returns:
        message count per topic.
    Raises:
        FileExistsError: ``out`` exists. Errors reading the drive remove the partial bag.
    """
    out, images = Path(out), images or ImageOutput()
    if out.exists():
        raise FileExistsError(f'bag {out} exists already')
    try:
        return _write_bag(drive, out, frames, storage, progress, images)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # we created it: do not leave half a bag
        raise


def _write_bag(drive, out: Path, frames, storage: str, progress: bool, images) -> dict[str, int]:
    topics = topics_for(images.compress, drive.odom is not None)
    counts = {topic: 0 for topic, _ in topics.values()}
    first = min(int(drive.image_stamps_ns[frames[0]]), int(drive.truth.stamp_ns[0]))
    with ConvertWriter(out, storage=storage) as bag:
        for key, (topic, msgtype) in topics.items():
            bag.declare(topic, msgtype, latched=key == 'tf_static')
        bag.write(TOPICS['tf_static'], first, tf_static_msg(drive.camera, first, bag))
        counts[TOPICS['tf_static']] = 1
        bar = tqdm(frames.tolist(), desc='frames', unit='frame', disable=not progress)
        _write_all(bag, drive, bar, counts, images)
    _write_side_files(drive, out, storage, counts, len(frames), topics)
    return counts


def _write_side_files(drive: Drive, out: Path, storage: str, counts: dict, n: int,
                      topics: dict) -> None:  # fmt: skip
    (out / 'camera.json').write_text(json.dumps(drive.camera.to_dict(), indent=2) + '\n')
    route = ['lat,lon'] + [f'{a:.9f},{b:.9f}' for a, b in zip(drive.truth.lat_deg,
                                                              drive.truth.lon_deg)]  # fmt: skip
    (out / 'route.csv').write_text('\n'.join(route) + '\n')
    meta = {'source': drive.source, 'storage': storage, 'frames': n,
            'topics': {key: topic for key, (topic, _) in topics.items()},
            'frame_ids': FRAMES, 'message_counts': counts, **drive.notes}  # fmt: skip
    (out / 'convert.json').write_text(json.dumps(meta, indent=2, default=str) + '\n')
