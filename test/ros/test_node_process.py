"""The node as a process: start-up errors exit 1 naming the file; Ctrl-C stops it cleanly."""

import os
import signal
import subprocess
import sys

import pytest
from ros_testkit import wait_until

pytestmark = pytest.mark.ros


def _start(tmp_path, *params: str) -> tuple[subprocess.Popen, object]:
    log = tmp_path / 'node.log'
    args = [sys.executable, '-m', 'cvseq_localizer.ros.node', '--ros-args']
    for p in params:
        args += ['-p', p]
    fh = open(log, 'w')  # closed by the caller
    proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ))
    return proc, fh


def test_missing_model_exits_with_a_message_naming_it(tmp_path):
    missing = tmp_path / 'missing.pt'
    proc, fh = _start(tmp_path, f'model_path:={missing}', 'tiles:=mbtiles:///x.mbtiles')
    try:
        assert proc.wait(timeout=60) == 1
    finally:
        proc.kill()
        fh.close()
    text = (tmp_path / 'node.log').read_text()
    assert f'{missing}' in text and 'does not exist' in text


def test_ctrl_c_stops_the_node_cleanly(tmp_path):
    proc, fh = _start(tmp_path, 'allow_gnss_only:=true', f'model_path:={tmp_path / "no.pt"}')
    try:
        log = tmp_path / 'node.log'
        wait_until(lambda: 'listening to' in log.read_text() or proc.poll() is not None, 60.0,
                   'the node to start', 0.05)  # fmt: skip
        assert proc.poll() is None, log.read_text()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
        fh.close()
    assert 'Traceback' not in log.read_text()
