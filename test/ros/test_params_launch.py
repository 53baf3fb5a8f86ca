"""Parameters: one table, clear validation errors, YAML and launch file in step with the node."""

import ast
from pathlib import Path

import pytest
import yaml
from rclpy.parameter import Parameter

from cvseq_localizer.ros.params import (
    PARAM_NAMES,
    PARAMS,
    NodeSettings,
    ParameterError,
    settings_from_values,
)

ROOT = Path(__file__).resolve().parents[2]
YAML_PATH = ROOT / 'config' / 'localizer.yaml'
LAUNCH_PATH = ROOT / 'launch' / 'localize.launch.py'
LAUNCH_ARGS = {'params_file', 'model_path', 'device', 'image_topic', 'fix_topic', 'namespace',
               'use_sim_time', 'lifecycle'}  # fmt: skip


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / 'm.pt'
    path.write_bytes(b'not a checkpoint')
    return path


def ok_values(model_file, **kw):
    return {'model_path': str(model_file), 'tiles': 'mbtiles:///x.mbtiles', **kw}


def test_values_map_to_the_core_configs(model_file):
    values = ok_values(model_file, num_particles=321, tile_deadline_s=-1.0,
                       providers=['cuda', 'cpu'], use_fixed_datum=True, datum_lat_deg=48.0,
                       image_topic='/cam/compressed')  # fmt: skip
    s = settings_from_values(values)
    loc = s.pipeline.localizer
    assert loc.filter.num_particles == 321 and s.pipeline.tile_deadline_s is None
    assert loc.datum_lat_deg == 48.0 and s.pipeline.providers == ['cuda', 'cpu']
    assert s.image_is_compressed and s.pipeline.tile_ground_m is None
    default = settings_from_values(ok_values(model_file))
    assert default.pipeline.localizer.datum_lat_deg is None  # first fix
    assert default.pipeline.providers is None and not default.image_is_compressed


@pytest.mark.parametrize(
    ('values', 'needle'),
    [
        ({'engine': 'tensorflow'}, "parameter engine = 'tensorflow' is invalid"),
        ({'device': 'gpu'}, 'parameter device'),
        ({'grid_floor_weight': 1.5}, 'parameter grid_floor_weight must lie in'),
        ({'num_particles': 0}, 'parameter num_particles must be > 0'),
        ({'tiles': ''}, 'parameter tiles'),
        ({'image_topic': 'bad topic!'}, 'parameter image_topic'),
        ({'map_frame': 'base_link'}, 'parameter map_frame'),
        ({'bogus': 1}, "unknown parameter(s) ['bogus']"),
    ],
)
def test_invalid_values_name_the_parameter(model_file, values, needle):
    with pytest.raises(ParameterError) as info:
        settings_from_values(ok_values(model_file, **values))
    assert needle in str(info.value)


def test_missing_model_is_named_unless_gnss_only_is_allowed(tmp_path):
    missing = tmp_path / 'gone.pt'
    with pytest.raises(ParameterError, match=f'model_path .*{missing.name}.* does not exist'):
        settings_from_values({'model_path': str(missing), 'tiles': 'x'})
    s = settings_from_values({'model_path': str(missing), 'allow_gnss_only': True})
    assert s.pipeline.allow_gnss_only


def test_default_model_is_the_default_engine_as_in_replay():
    """The node and cvseq-replay run the same engine when no model is named."""
    from cvseq_localizer.shipped import default_model

    assert settings_from_values({'tiles': 'x'}).pipeline.model_path == default_model()


def test_named_shipped_weights_resolve(monkeypatch, tmp_path):
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(tmp_path))  # package not installed there
    monkeypatch.setattr('cvseq_localizer.ros.params.default_model', lambda: None)
    if (ROOT / 'models' / 'small_tam.pt').exists():
        s = settings_from_values({'tiles': 'x'})
        assert s.pipeline.model_path == str(ROOT / 'models' / 'small_tam.pt')
    else:
        with pytest.raises(ParameterError, match=r'default model \(shipped weights\).*small_tam'):
            settings_from_values({'tiles': 'x'})


def test_corrupt_model_fails_at_startup_naming_the_file(model_file, ros_context):
    from cvseq_localizer.ros.node import LocalizerNode

    params = [Parameter('model_path', value=str(model_file)), Parameter('engine', value='torch'),
              Parameter('tiles', value='mbtiles:///nowhere.mbtiles')]  # fmt: skip
    with pytest.raises(ParameterError, match=str(model_file)):
        LocalizerNode(context=ros_context, parameter_overrides=params)


def test_node_declares_the_table_with_descriptions(ros_context):
    from cvseq_localizer.ros.node import LocalizerNode

    params = [Parameter('allow_gnss_only', value=True), Parameter('model_path', value='/nope')]
    node = LocalizerNode(context=ros_context, parameter_overrides=params)
    try:
        builtin = {'use_sim_time', 'start_type_description_service'}
        declared = set(node.get_parameters_by_prefix('')) - builtin
        assert declared == set(PARAM_NAMES)
        descriptors = node.describe_parameters(list(PARAM_NAMES))
        assert all(d.description for d in descriptors)
    finally:
        node.destroy_node()
    node_fields = set(NodeSettings.__dataclass_fields__) - {'pipeline'}
    assert node_fields == {p.field_name for p in PARAMS if p.section == 'node'}


def test_yaml_lists_exactly_the_declared_parameters_with_comments():
    text = YAML_PATH.read_text()
    doc = yaml.safe_load(text)
    params = _flatten(doc['/**']['ros__parameters'])
    assert set(params) == set(PARAM_NAMES)
    for p in PARAMS:
        assert params[p.name] == p.default, p.name
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().split(':')[0] in PARAM_NAMES and line.startswith('    '):
            assert lines[i - 1].strip().startswith('#'), f'{line.strip()} has no comment'


def _flatten(tree: dict, prefix: str = '') -> dict:
    """Nested YAML parameters -> ROS 2's dotted names (``a: {x: 1}`` -> ``a.x``)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f'{prefix}{key}.'))
        else:
            out[f'{prefix}{key}'] = value
    return out


def _launch_arguments() -> dict:
    tree = ast.parse(LAUNCH_PATH.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == 'ARGUMENTS':
            return ast.literal_eval(node.value)
    raise AssertionError('ARGUMENTS not found in the launch file')


def test_launch_file_declares_the_arguments():
    args = _launch_arguments()
    assert set(args) == LAUNCH_ARGS
    assert all(description for _, description in args.values())


def test_launch_description_builds():
    # (the repository's launch/ folder is importable as a namespace package: check the API)
    launch = pytest.importorskip('launch', reason='the ROS 2 launch package is not installed')
    if not hasattr(launch, 'LaunchDescription'):
        pytest.skip('the ROS 2 launch package is not installed (only the launch/ folder)')
    pytest.importorskip('launch_ros', reason='the ROS 2 launch_ros package is not installed')
    import importlib.util

    spec = importlib.util.spec_from_file_location('localize_launch', LAUNCH_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = {a.name for a in module.generate_launch_description().entities if hasattr(a, 'name')}
    assert LAUNCH_ARGS <= names
