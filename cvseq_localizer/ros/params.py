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
from cvseq_localizer.localizer import LocalizerConfig
from cvseq_localizer.pipeline import PipelineConfig
from cvseq_localizer.shipped import SHIPPED_MODEL_FILE, shipped_model_or_expected

_TOPIC = re.compile(r'^[~/]?[A-Za-z_][\w/]*$')


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
    Param('model_path', '', "checkpoint .pt or ONNX export dir; '' = shipped models/"
          f'{SHIPPED_MODEL_FILE}', 'pipeline'),
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
    Param('use_fixed_datum', False, 'use datum_* as the map origin (false = the first fix)',
          'localizer'),
    Param('datum_lat_deg', 0.0, 'map origin latitude, deg (with use_fixed_datum)', 'localizer'),
    Param('datum_lon_deg', 0.0, 'map origin longitude, deg (with use_fixed_datum)', 'localizer'),
    Param('datum_alt_m', 0.0, 'map origin ellipsoidal height, m', 'localizer'),
    Param('recenter_fraction', 0.25, 're-centre the tile when the position is farther than this '
          'fraction of the tile from its centre', 'localizer'),
    Param('converged_std_m', 4.0, 'the estimate (not the last fix) centres the tile once its '
          'position std is below this, m', 'localizer'),
    Param('hidden_reset_gap_s', 2.0, 'reset the temporal state when frames are further apart, s',
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
        ('tiles', bool(v['tiles']) or v['allow_gnss_only'] or not v['use_network'],
         "a tile source (e.g. 'mbtiles:///data/area.mbtiles'), or allow_gnss_only: true"),
    ]  # fmt: skip
    checks += [
        (t, bool(_TOPIC.match(v[t])), 'a valid topic name') for t in ('image_topic', 'fix_topic')
    ]
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
