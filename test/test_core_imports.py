"""The core must not load ROS: import every core module in a fresh interpreter and check."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import cvseq_localizer

ROS_ONLY = ('cvseq_localizer.ros', 'cvseq_localizer.tools')
ROS_MODULES = ('rclpy', 'sensor_msgs', 'geometry_msgs', 'nav_msgs', 'diagnostic_msgs', 'std_msgs')


def core_modules() -> list[str]:
    root = Path(cvseq_localizer.__file__).parent
    names = ['cvseq_localizer']
    for info in pkgutil.walk_packages([str(root)], prefix='cvseq_localizer.'):
        if not info.name.startswith(ROS_ONLY):
            names.append(info.name)
    return names


def test_core_modules_import_without_ros():
    modules = core_modules()
    assert 'cvseq_localizer.geo.geoimage' in modules
    code = (
        'import importlib, sys\n'
        f'for name in {modules!r}:\n'
        '    importlib.import_module(name)\n'
        f'leaked = [m for m in sys.modules if m.split(".")[0] in {ROS_MODULES!r}]\n'
        'print(",".join(leaked))\n'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '', f'core modules imported ROS: {out.stdout.strip()}'
