"""Start the cvseq_localizer node with a parameter file and a few common overrides.

Example::

    ros2 launch cvseq_localizer localize.launch.py \
        params_file:=my_car.yaml image_topic:=/front/image_raw/compressed use_sim_time:=true

``lifecycle:=true`` starts ``cvseq_localizer_lifecycle`` (the managed node) instead.

Launch arguments left empty keep the value of ``params_file`` (default: the package's
``config/localizer.yaml``); non-empty ones override it.
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

PACKAGE = 'cvseq_localizer'
# name: (default, description); '' = keep the params_file value.
ARGUMENTS = {
    'params_file': ('', 'parameter YAML (default: share/cvseq_localizer/config/localizer.yaml)'),
    'model_path': ('', 'checkpoint .pt or ONNX export directory (overrides params_file)'),
    'device': ('', "'cpu' or 'cuda[:N]' (overrides params_file)"),
    'image_topic': ('', 'camera topic; a name ending in /compressed subscribes CompressedImage'),
    'fix_topic': ('', 'GNSS sensor_msgs/NavSatFix topic (overrides params_file)'),
    'namespace': ('', 'namespace of the node and its cvloc/* outputs'),
    'use_sim_time': ('false', 'follow /clock (true when playing a bag with cvseq-play)'),
    'lifecycle': (
        'false',
        'start the managed (lifecycle) node: configure and activate it '
        'with a lifecycle manager (nav2) or ros2 lifecycle set',
    ),
}
OVERRIDES = ('model_path', 'device', 'image_topic', 'fix_topic')


def _node(context, *args, **kwargs):
    value = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    params_file = value['params_file'] or str(
        Path(get_package_share_directory(PACKAGE)) / 'config' / 'localizer.yaml'
    )
    overrides = {name: value[name] for name in OVERRIDES if value[name]}
    overrides['use_sim_time'] = _true(value['use_sim_time'])
    executable = f'{PACKAGE}_lifecycle' if _true(value['lifecycle']) else PACKAGE
    return [
        Node(
            package=PACKAGE,
            executable=executable,
            name=PACKAGE,
            namespace=value['namespace'],
            parameters=[params_file, overrides],
            output='screen',
            emulate_tty=True,
        )
    ]


def _true(text: str) -> bool:
    return text.lower() in ('true', '1', 'yes')


def generate_launch_description() -> LaunchDescription:
    declared = [
        DeclareLaunchArgument(name, default_value=default, description=text)
        for name, (default, text) in ARGUMENTS.items()
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=_node)])
