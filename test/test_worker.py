import threading

from cvseq_localizer.worker import LatestFrameWorker


def test_latest_frame_wins_and_counts_drops():
    gate = threading.Event()
    seen = []

    def process(stamp_ns, frame):
        gate.wait(5)
        return stamp_ns

    worker = LatestFrameWorker(process, seen.append)
    try:
        worker.submit(1, 'a')  # taken by the thread, blocks on the gate
        assert not worker.wait_idle(0.2)
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
