"""Test files need unique basenames (pytest's prepend import mode, no __init__.py)."""

from collections import Counter
from pathlib import Path


def test_test_file_basenames_are_unique():
    root = Path(__file__).resolve().parent
    names = Counter(p.name for p in root.rglob('test_*.py'))
    assert not [n for n, k in names.items() if k > 1], names.most_common(3)
