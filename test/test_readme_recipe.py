"""The README's robot_localization recipe parses and has no feedback loop."""

import re
from pathlib import Path

import yaml

README = Path(__file__).resolve().parents[1] / 'README.md'
INPUT_KEY = re.compile(r'^(odom|pose|twist|imu)\d+$')


def recipe() -> tuple[dict, dict[str, str]]:
    text = README.read_text()
    section = text[text.index('### Feeding robot_localization') :]
    section = section[: section.index('\n## ')]
    config = yaml.safe_load(re.search(r'```yaml\n(.*?)```', section, re.S).group(1))
    launch = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    outputs = {
        name: remap
        for name, remap in re.findall(
            r"name='(\w+)'.*?remappings=\[\('odometry/filtered', '([^']+)'\)\]", launch, re.S
        )
    }
    return config, outputs


def inputs_of(params: dict) -> set[str]:
    return {v for k, v in params.items() if INPUT_KEY.match(k)}


def test_recipe_is_a_dual_ekf_without_loops():
    config, outputs = recipe()
    assert set(config) == set(outputs), 'every EKF in the YAML needs an output remapping'
    assert len(set(outputs.values())) == len(outputs), 'the EKFs publish on the same topic'
    for name, node in config.items():
        params = node['ros__parameters']
        assert outputs[name] not in inputs_of(params), f'{name} reads its own output'
        assert '/odometry/filtered' not in inputs_of(params)
    map_ekf = next(
        n['ros__parameters']
        for n in config.values()
        if n['ros__parameters']['world_frame'] == 'map'
    )
    assert '/cvloc/pose' in inputs_of(map_ekf)
    assert map_ekf['smooth_lagged_data'] is True and map_ekf['history_length'] >= 0.5
    odom_ekf = next(
        n['ros__parameters']
        for n in config.values()
        if n['ros__parameters']['world_frame'] == 'odom'
    )
    assert '/cvloc/pose' not in inputs_of(odom_ekf), 'a global pose would make odom jump'


def test_map_ekf_uses_only_velocities_of_the_odom_ekf():
    config, outputs = recipe()
    map_ekf = next(
        n['ros__parameters']
        for n in config.values()
        if n['ros__parameters']['world_frame'] == 'map'
    )
    for key, topic in map_ekf.items():
        if INPUT_KEY.match(key) and topic in outputs.values():
            flags = map_ekf[f'{key}_config']
            assert not any(flags[:6]), f'{key} fuses pose from the odom EKF (double counting)'
