"""Lint runs inside the tests: ruff with the repository's ruff.toml (99 columns, single quotes)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name('ruff')
    if exe.exists():
        return [str(exe)]
    found = shutil.which('ruff')
    assert found, 'ruff is not installed (make test installs it from requirements-test.txt)'
    return [found]


def test_ruff_check():
    out = subprocess.run(
        _ruff() + ['check', '--no-cache', '.'], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format():
    out = subprocess.run(
        _ruff() + ['format', '--check', '--no-cache', '.'],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
