import pytest
from tiles_testkit import TileServer


@pytest.fixture
def server():
    srv = TileServer()
    yield srv
    srv.stop()
