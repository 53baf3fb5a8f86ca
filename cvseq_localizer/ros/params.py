"""The node's parameters: declared once (with descriptions) and mapped to the core's configs here.

``PARAMS`` is the single table: name, default, meaning (with unit) and where the value goes
(``pipeline``: :class:`PipelineConfig`, ``localizer``: :class:`LocalizerConfig`, ``filter``:
:class:`FilterConfig`, ``node``: :class:`NodeSettings`). ``config/localizer.yaml`` lists the same
names (a test checks both ways). :func:`settings_from_values` is pure (no rclpy) and raises
:class:`ParameterError` naming the parameter on any invalid value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cvseq_localizer.filter import FilterConfig
from cvseq_localizer.geo.camera import CameraMount
from cvseq_localizer.localizer import LocalizerConfig
from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.shipped import (
    DEFAULT_MODEL,
    GEOMETRIC_MODEL,
    default_model,
    shipped_model_or_expected,
)

_MOUNT = (('x', 'm'), ('y', 'm'), ('z', 'm'), ('roll', 'rad'), ('pitch', 'rad'), ('yaw', 'rad'))
_TOPIC = re.compile(r'^[~/]?[A-Za-z_][\w/]*$')


MISMATCH_POLICIES = ('run', 'gnss_only', 'refuse')


class ParameterError(ValueError):
    """A parameter value the node cannot start with (the message names the parameter)."""


@dataclass(frozen=True)
class Param:
    """One ROS parameter: ``target`` is ``'section'`` or ``'section.field'`` (field = name)."""

    name: str
    default: Any
    description: str
    target: str

    @property
    def section(self) -> str:
        return self.target.split('.')[0]

    @property
    def field_name(self) -> str:
        return self.target.split('.')[1] if '.' in self.target else self.name


def _filter(name: str, description: str) -> Param:
    return Param(name, getattr(FilterConfig(), name), description, 'filter')


PARAMS: tuple[Param, ...] = (
    # ------------------------------------------------------------------ model and tiles
    Param('model_path', '', "checkpoint .pt, ONNX export dir or 'geometric' (the training-free "
          f"matcher); '' = the default engine ({DEFAULT_MODEL})", 'pipeline'),
    Param('engine', 'auto', "inference runtime: 'auto', 'torch' or 'onnx'", 'pipeline'),
    Param('device', 'cpu', "'cpu' or 'cuda[:N]'", 'pipeline'),
    Param('providers', ['auto'], "ONNX Runtime providers in order of preference; ['auto'] = "
          'from device (TensorRT, CUDA, CPU on cuda; CPU on cpu)', 'pipeline'),
    Param('precision', 'fp32', "'fp32', 'fp16' or 'bf16' (CUDA only)", 'pipeline'),
    Param('tiles', '', "satellite tile source: 'mbtiles:///path.mbtiles', 'dir:///tiles' or an "
          "XYZ URL template; '' = none (needs allow_gnss_only)", 'pipeline'),
    Param('tile_zoom', 19, 'zoom level of the source tiles', 'pipeline'),
    Param('tile_ground_m', 0.0, 'ground size of the model input tile, m; 0 = the value the '
          'checkpoint was trained with', 'pipeline'),
    Param('tile_deadline_s', 0.05, 'longest wait for a satellite tile per frame, s; negative = '
          'block until assembled (deterministic, as cvseq-replay)', 'pipeline'),
    Param('allow_gnss_only', False, 'run the GNSS-only filter instead of failing when the model '
          'or the tiles are unavailable', 'pipeline'),
    Param('seed', 0, 'seed of the particle filter random generator', 'pipeline'),
    # ---------------------------------------------------------------------------- topics
    Param('image_topic', '/camera/image_raw', 'camera topic (sensor_msgs/Image, or '
          'CompressedImage when the name ends in /compressed)', 'node'),
    Param('fix_topic', '/gnss/fix', 'GNSS topic (sensor_msgs/NavSatFix)', 'node'),
    Param('compressed', False, 'subscribe to sensor_msgs/CompressedImage whatever the topic name',
          'node'),
    Param('map_frame', 'map', 'frame of the outputs (ENU, origin at the datum)', 'node'),
    Param('base_frame', 'base_link', 'child frame of the odometry and TF', 'node'),
    Param('publish_debug_image', False, 'publish cvloc/debug_image (probability heat map over '
          'the satellite tile)', 'node'),
    Param('publish_tf', False, 'broadcast map -> base_frame (needs tf2_ros)', 'node'),
    Param('diagnostics_period_s', 1.0, 'period of /diagnostics, s', 'node'),
    Param('warn_period_s', 5.0, 'repeated warnings of one kind are logged at most this often, s',
          'node'),
    # ------------------------------------------------------------------------- localizer
    Param('use_network', True, 'run the cross-view network (false = GNSS-only filter)',
          'pipeline'),
    Param('use_fixed_datum', False, 'use datum_* as the map origin (false = chosen from the '
          'first consistent fixes: it moves every run)', 'localizer'),
    Param('datum_lat_deg', 0.0, 'map origin latitude, deg (with use_fixed_datum); share it with '
          'navsat_transform (datum, use_local_cartesian: true) and GPS waypoints', 'localizer'),
    Param('datum_lon_deg', 0.0, 'map origin longitude, deg (with use_fixed_datum); the same as '
          "navsat_transform's datum", 'localizer'),
    Param('datum_alt_m', 0.0, 'map origin ellipsoidal height, m', 'localizer'),
    Param('recenter_fraction', 0.25, 're-centre the tile when the position is farther than this '
          'fraction of the tile from its centre', 'localizer'),
    Param('stale_tile_max_fraction', 0.3, 'a tile that could not be replaced serves only while '
          'the position is within this fraction of the tile from its centre', 'localizer'),
    Param('converged_std_m', 4.0, 'the estimate (not the last fix) centres the tile once its '
          'position std is below this, m', 'localizer'),
    Param('hidden_reset_gap_s', 2.0, 'reset the temporal state when frames are further apart, s',
          'localizer'),
    Param('datum_min_fixes', 3, 'consistent fixes needed before the map origin is chosen',
          'localizer'),
    Param('network_max_std_m', 10.0, 'skip the network while the position std exceeds this, m',
          'localizer'),
    Param('network_max_yaw_std_deg', 20.0, 'skip geometry-aware engines while the heading std '
          'exceeds this, deg', 'localizer'),
    Param('network_heading_check_s', 1.0, 'skip geometry-aware engines while the heading of the '
          'GNSS fix track (fixes this recent, s) disagrees with the filter; 0 = off', 'localizer'),
    Param('network_confirm_heading_deg', 15.0, 'after a (re)initialisation geometry-aware '
          "engines wait until the GNSS fix track's heading (std at most this) agrees with the "
          "filter's within this, deg; 0 = off", 'localizer'),
    Param('use_network_heading', True, "fuse the engine's heading output as a yaw measurement",
          'localizer'),
    Param('heading_acquire_interval_s', 1.0, 'while the heading is too uncertain for the '
          'engine, search every heading on one frame at most this often, s; 0 = never',
          'localizer'),
    Param('heading_acquire_confirms', True, 'an answered heading acquisition stands in for '
          "the GNSS fix track's confirmation (network_confirm_heading_deg)", 'localizer'),
    Param('heading_position_prior', True, "the engine's heading evidence is taken around the "
          "filter's position instead of over the whole tile (engines that support it)",
          'localizer'),
    # ---------------------------------------------------------------------------- filter
    _filter('num_particles', 'number of particles'),
    _filter('accel_noise_mps2', 'acceleration noise density, m/s^2 per sqrt(Hz)'),
    _filter('yaw_rate_noise_radps', 'yaw random-walk density, rad/s per sqrt(Hz)'),
    _filter('position_noise_mps', 'extra position noise density, m/s per sqrt(Hz)'),
    _filter('gnss_fallback_sigma_m', 'GNSS std when a fix has no covariance, m'),
    _filter('gnss_min_sigma_m', 'GNSS std is clamped to at least this, m'),
    _filter('gate_n_sigma', 'fixes farther than n sigma (+ motion) from the last are rejected'),
    _filter('grid_temperature', 'network log-likelihood divisor (> 1 tempers confidence)'),
    _filter('grid_floor_weight', 'uniform floor of the network likelihood, in (0, 1)'),
    _filter('resample_ess_ratio', 'resample when ESS falls below this fraction of particles'),
    _filter('diverge_after_s', 'GNSS disagreement lasting this long re-initialises, s'),
    _filter('diverge_gross_m', 'a disagreement with GNSS beyond this re-initialises after '
            'diverge_gross_after_s even while the network is informative, m; 0 = off'),
    _filter('gnss_jump_check', 'reject fixes after a jump of the fix track until it returns '
            '(multipath) or stays gnss_jump_confirm_s'),
    _filter('gnss_jump_confirm_s', 'a fix-track jump that lasts this long is followed, s'),
    _filter('motion_check_after_s', "re-draw speed/yaw from the GNSS fix track after the cloud's "
            'heading disagreed this long, s; 0 = off'),
    _filter('motion_check_grid_min_deg', '... while the network is used, only beyond this '
            'disagreement, deg; 0 = never'),
    _filter('track_heading_std_scale', "fuse the GNSS fix track's heading (std times this) "
            'on GNSS alone; 0 = off'),
    _filter('grid_cov_floor_m', 'std added to the covariance while the network is used, m'),
    _filter('dropout_grid_gate_sigmas', 'in a GNSS dropout reject network peaks farther than '
            'this many sigma (and dropout_grid_gate_min_m) from the estimate; 0 = off'),
    # ------------------------------------------------------------- camera, GNSS, odometry
    Param('camera_info_topic', '', "sensor_msgs/CameraInfo topic; '' = camera_info beside the "
          'image topic (/camera/image_raw -> /camera/camera_info)', 'node'),
    Param('camera_mismatch', 'gnss_only', 'when the camera differs from the one the model was '
          "trained with: 'run' (use the network anyway), 'gnss_only' (publish GNSS-only poses) "
          "or 'refuse' (publish nothing)", 'node'),
    *(Param(f'camera_mount.{k}', getattr(CameraMount(), f'{k}_{u}'), f'camera optical centre '
            f'in base_frame when TF has no base_frame -> image frame_id transform: {k}, {u}',
            f'node.camera_mount_{k}') for k, u in _MOUNT),
    *(Param(f'gnss_lever_arm.{k}', 0.0, f'GNSS antenna position in base_frame when TF has no '
            f'base_frame -> fix frame_id transform: {k}, m', f'node.gnss_lever_arm_{k}')
      for k in 'xyz'),
    Param('odom_topic', '', "wheel odometry topic; '' = none", 'node'),
    Param('odom_is_twist', False, 'odom_topic carries geometry_msgs/TwistWithCovarianceStamped '
          '(false: nav_msgs/Odometry)', 'node'),
    # -------------------------------------------------------------- degraded modes, health
    Param('camera_timeout_s', 1.0, 'no camera frame for this long (by header stamps): publish '
          'on GNSS alone, s', 'node'),
    Param('gnss_only_publish_hz', 5.0, 'highest rate of GNSS-only poses (at most one per fix), '
          'Hz', 'node'),
    Param('image_expected_hz', 0.0, 'expected camera rate for /diagnostics, Hz; 0 = any rate '
          '(silence is still an error)', 'node'),
    Param('fix_expected_hz', 0.0, 'expected GNSS rate for /diagnostics, Hz; 0 = any rate',
          'node'),
    Param('odom_expected_hz', 0.0, 'expected odometry rate for /diagnostics, Hz; 0 = any rate',
          'node'),
    Param('rate_tolerance', 0.5, 'relative tolerance of the expected rates', 'node'),
    Param('max_stamp_delay_s', 5.0, 'inputs stamped more than this before the node clock are '
          'stale in /diagnostics, s', 'node'),
)  # fmt: skip
PARAM_NAMES = tuple(p.name for p in PARAMS)


@dataclass
class NodeSettings:
    """Everything the node runs with: ``pipeline`` for the core, the rest for the ROS shell."""

    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    image_topic: str = '/camera/image_raw'
    fix_topic: str = '/gnss/fix'
    compressed: bool = False
    map_frame: str = 'map'
    base_frame: str = 'base_link'
    publish_debug_image: bool = False
    publish_tf: bool = False
    diagnostics_period_s: float = 1.0
    warn_period_s: float = 5.0
    camera_info_topic: str = ''
    camera_mismatch: str = 'gnss_only'
    camera_mount_x: float = 0.0
    camera_mount_y: float = 0.0
    camera_mount_z: float = 1.65
    camera_mount_roll: float = 0.0
    camera_mount_pitch: float = 0.03
    camera_mount_yaw: float = 0.0
    gnss_lever_arm_x: float = 0.0
    gnss_lever_arm_y: float = 0.0
    gnss_lever_arm_z: float = 0.0
    odom_topic: str = ''
    odom_is_twist: bool = False
    camera_timeout_s: float = 1.0
    gnss_only_publish_hz: float = 5.0
    image_expected_hz: float = 0.0
    fix_expected_hz: float = 0.0
    odom_expected_hz: float = 0.0
    rate_tolerance: float = 0.5
    max_stamp_delay_s: float = 5.0

    @property
    def camera_mount(self) -> CameraMount:
        """The camera mount of the parameters (used when TF does not know it)."""
        return CameraMount(*(getattr(self, f'camera_mount_{k}') for k, _ in _MOUNT))

    @property
    def gnss_lever_arm_m(self) -> tuple[float, float, float]:
        """The antenna position in ``base_frame`` of the parameters, m."""
        return (self.gnss_lever_arm_x, self.gnss_lever_arm_y, self.gnss_lever_arm_z)

    @property
    def camera_info_topic_resolved(self) -> str:
        """``camera_info`` in the image topic's namespace unless set."""
        if self.camera_info_topic:
            return self.camera_info_topic
        topic = self.image_topic.rstrip('/')
        if topic.endswith('/compressed'):
            topic = topic[: -len('/compressed')]
        head, sep, _ = topic.rpartition('/')
        return f'{head}{sep}camera_info' if sep else 'camera_info'

    @property
    def image_is_compressed(self) -> bool:
        return self.compressed or self.image_topic.rstrip('/').endswith('/compressed')


def default_model_path() -> Path:
    """The shipped weights (see :mod:`cvseq_localizer.shipped`), or where they were expected."""
    return shipped_model_or_expected()


def settings_from_values(values: Mapping[str, Any]) -> NodeSettings:
    """Validated :class:`NodeSettings` from ``{name: value}`` (missing names take defaults).

    Raises:
        ParameterError: unknown name or invalid value (the message names the parameter).
    """
    unknown = sorted(set(values) - set(PARAM_NAMES))
    if unknown:
        raise ParameterError(f'unknown parameter(s) {unknown}')
    merged = {p.name: values.get(p.name, p.default) for p in PARAMS}
    _validate(merged)
    sections: dict[str, dict[str, Any]] = {'pipeline': {}, 'localizer': {}, 'filter': {}}
    node: dict[str, Any] = {}
    for p in PARAMS:
        (node if p.section == 'node' else sections[p.section])[p.field_name] = merged[p.name]
    return NodeSettings(pipeline=_pipeline(sections), **node)


def _pipeline(sections: dict[str, dict[str, Any]]) -> PipelineConfig:
    try:
        filter_cfg = replace(FilterConfig(), **sections['filter'])
    except ValueError as exc:  # FilterConfig names the field, which is the parameter name
        raise ParameterError(str(exc).replace('FilterConfig.', 'parameter ')) from exc
    loc = dict(sections['localizer'])
    fixed = loc.pop('use_fixed_datum')
    localizer = replace(
        LocalizerConfig(),
        **loc if fixed else {k: v for k, v in loc.items() if not k.startswith('datum_l')},
        filter=filter_cfg,
    )
    pipe = dict(sections['pipeline'])
    deadline = pipe['tile_deadline_s']
    pipe['tile_deadline_s'] = None if deadline < 0 else float(deadline)
    pipe['providers'] = None if list(pipe['providers']) == ['auto'] else list(pipe['providers'])
    pipe['tile_ground_m'] = pipe['tile_ground_m'] or None
    pipe['model_path'] = _model_path(pipe['model_path'], pipe['allow_gnss_only'])
    return PipelineConfig(**pipe, localizer=localizer)


def _model_path(value: str, allow_gnss_only: bool) -> str:
    """The model file to load (a missing file is only allowed with GNSS-only fallback)."""
    if value == GEOMETRIC_MODEL or (not value and default_model() == GEOMETRIC_MODEL):
        return GEOMETRIC_MODEL  # no weights
    path = Path(value).expanduser() if value else default_model_path()
    if path.exists() or allow_gnss_only:
        return str(path)
    what = f'model_path {value!r}' if value else f'default model (shipped weights) {path}'
    raise ParameterError(
        f'{what} does not exist: set model_path to a checkpoint (.pt) or ONNX export directory, '
        'or allow_gnss_only: true'
    )


def _validate(v: dict[str, Any]) -> None:
    checks = [
        ('engine', v['engine'] in ('auto', 'torch', 'onnx'), "one of 'auto', 'torch', 'onnx'"),
        ('device', re.fullmatch(r'cpu|cuda(:\d+)?', v['device']) is not None, "'cpu' or 'cuda:N'"),
        ('precision', v['precision'] in ('fp32', 'fp16', 'bf16'), "'fp32', 'fp16' or 'bf16'"),
        ('providers', len(v['providers']) > 0, "a non-empty list (['auto'] for the default)"),
        ('tile_zoom', 0 <= v['tile_zoom'] <= 23, 'in [0, 23]'),
        ('tile_ground_m', v['tile_ground_m'] >= 0, '>= 0 (0 = from the checkpoint)'),
        ('diagnostics_period_s', v['diagnostics_period_s'] > 0, '> 0'),
        ('warn_period_s', v['warn_period_s'] >= 0, '>= 0'),
        ('datum_lat_deg', abs(v['datum_lat_deg']) <= 90, 'in [-90, 90]'),
        ('datum_lon_deg', abs(v['datum_lon_deg']) <= 180, 'in [-180, 180]'),
        ('recenter_fraction', 0 < v['recenter_fraction'] <= 0.5, 'in (0, 0.5]'),
        ('map_frame', bool(v['map_frame']) and v['map_frame'] != v['base_frame'],
         'non-empty and different from base_frame'),
        ('base_frame', bool(v['base_frame']), 'non-empty'),
        ('camera_mismatch', v['camera_mismatch'] in MISMATCH_POLICIES,
         f'one of {", ".join(MISMATCH_POLICIES)}'),
        ('camera_timeout_s', v['camera_timeout_s'] > 0, '> 0'),
        ('gnss_only_publish_hz', v['gnss_only_publish_hz'] > 0, '> 0'),
        ('rate_tolerance', 0 <= v['rate_tolerance'] < 1, 'in [0, 1)'),
        ('max_stamp_delay_s', v['max_stamp_delay_s'] > 0, '> 0'),
        *((f'{k}_expected_hz', v[f'{k}_expected_hz'] >= 0, '>= 0 (0 = any rate)')
          for k in ('image', 'fix', 'odom')),
        ('tiles', bool(v['tiles']) or v['allow_gnss_only'] or not v['use_network'],
         "a tile source (e.g. 'mbtiles:///data/area.mbtiles'), or allow_gnss_only: true"),
    ]  # fmt: skip
    checks += [
        (t, bool(_TOPIC.match(v[t])), 'a valid topic name') for t in ('image_topic', 'fix_topic')
    ]
    checks += [
        (t, not v[t] or bool(_TOPIC.match(v[t])), "a valid topic name or ''")
        for t in ('camera_info_topic', 'odom_topic')
    ]
    for p in PARAMS:
        if p.name.startswith(('camera_mount.', 'gnss_lever_arm.')):
            checks.append((p.name, math.isfinite(v[p.name]), 'finite'))
    for name in ('datum_alt_m', 'converged_std_m', 'hidden_reset_gap_s', 'tile_deadline_s'):
        checks.append((name, math.isfinite(v[name]), 'finite'))
    for name, ok, expected in checks:
        if not ok:
            raise ParameterError(f'parameter {name} = {v[name]!r} is invalid: expected {expected}')


def declare_parameters(node: Any) -> NodeSettings:
    """Declare every parameter on ``node`` (with its description) and return the settings.

    Raises:
        ParameterError: invalid values (see :func:`settings_from_values`).
    """
    from rcl_interfaces.msg import ParameterDescriptor

    for p in PARAMS:
        node.declare_parameter(p.name, p.default, ParameterDescriptor(description=p.description))
    values = {p.name: node.get_parameter(p.name).value for p in PARAMS}
    return settings_from_values(values)
