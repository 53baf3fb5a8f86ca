import threading

from cvseq_localizer.worker import LatestFrameWorker


def test_latest_frame_wins_and_counts_drops():
    gate, started = threading.Event(), threading.Event()
    seen = []

    def process(stamp_ns, frame):
        started.set()
        assert gate.wait(5), 'the test never opened the gate'
        return stamp_ns

    worker = LatestFrameWorker(process, seen.append)
    try:
        worker.submit(1, 'a')
        assert started.wait(5), 'the worker thread did not take frame 1 within 5 s'
        assert not worker.wait_idle(0)  # frame 1 is running, blocked on the gate
        for stamp in (2, 3, 4):
            worker.submit(stamp, 'x')
        gate.set()
        assert worker.wait_idle(5)
    finally:
        worker.close()
    assert seen == [1, 4]
    assert worker.dropped == 2 and worker.processed == 2 and worker.submitted == 4


def test_errors_are_reported_and_worker_continues():
    errors, results = [], []

    def process(stamp_ns, frame):
        if stamp_ns == 1:
            raise RuntimeError('boom')
        return stamp_ns

    worker = LatestFrameWorker(process, results.append, errors.append)
    worker.submit(1, None)
    assert worker.wait_idle(5)
    worker.submit(2, None)
    assert worker.wait_idle(5)
    worker.close()
    assert [str(e) for e in errors] == ['boom'] and results == [2]
    assert not worker._thread.is_alive()
