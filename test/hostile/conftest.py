"""The hostile tests reuse the tile test kit (a real HTTP tile server on 127.0.0.1)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'tiles'))


import pytest  # noqa: E402
from tiles_testkit import TileServer  # noqa: E402


@pytest.fixture
def server():
    srv = TileServer()
    yield srv
    srv.stop()
