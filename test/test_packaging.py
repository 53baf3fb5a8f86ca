"""package.xml declares what the code imports; requirements are used."""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Top-level Python module -> the package.xml key that provides it.
ROSDEP_KEY = {
    'cv2': 'python3-opencv',
    'numpy': 'python3-numpy',
    'pyproj': 'python3-pyproj',
    'requests': 'python3-requests',
    'urllib3': 'python3-urllib3',
    'yaml': 'python3-yaml',
    'tqdm': 'python3-tqdm',
    'matplotlib': 'python3-matplotlib',
    'tifffile': 'python3-tifffile',
    'mercantile': 'python3-mercantile',
    'torch': 'python3-torch',
    'onnxruntime': 'python3-onnxruntime-pip',
    'rosbags': 'python3-rosbags-pip',
}
PIP_ONLY = {'onnx', 'onnxscript', 'onnx_ir', 'mcap'}  # listed in package.xml's pip comment


def imported_modules() -> set[str]:
    mods = set()
    for path in (ROOT / 'cvseq_localizer').rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods.update(a.name.split('.')[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split('.')[0])
    return {m for m in mods if m not in sys.stdlib_module_names and m != 'cvseq_localizer'}


def package_xml() -> str:
    return (ROOT / 'package.xml').read_text()


def test_every_import_is_an_exec_depend():
    xml = package_xml()
    declared = set(re.findall(r'<exec_depend>([^<]+)</exec_depend>', xml))
    pip_comment = xml[xml.index('No rosdep key') :]
    missing = []
    for mod in sorted(imported_modules()):
        if mod in PIP_ONLY:
            if mod.replace('_', '-') not in pip_comment and mod not in pip_comment:
                missing.append(f'{mod} (pip-only, not named in the comment)')
        elif ROSDEP_KEY.get(mod, mod) not in declared:
            missing.append(f'{mod} -> {ROSDEP_KEY.get(mod, mod)}')
    assert not missing, f'package.xml lacks exec_depends for: {missing}'


def test_requirements_are_imported_somewhere():
    reqs = (ROOT / 'requirements.txt').read_text().splitlines()
    names = [re.split(r'[=<>\[]', r)[0].strip() for r in reqs if r and not r.startswith('#')]
    mods = imported_modules()
    # Packages that are used without an import of their own name.
    indirect = {'onnxscript', 'onnx-ir', 'mcap', 'PyYAML'}
    unused = []
    for name in names:
        if name.startswith('ros-jazzy-') or name in indirect:
            continue
        module = {'opencv-python-headless': 'cv2'}.get(name, name.replace('-', '_'))
        if module not in mods:
            unused.append(name)
    assert not unused, f'requirements.txt lists packages nothing imports: {unused}'
