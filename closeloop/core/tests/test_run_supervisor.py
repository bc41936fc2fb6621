"""`make run` keeps the web server up when its worker dies: the worker is started again after
a growing pause, and why it died is logged."""

import logging
import signal

from closeloop.run import BACKOFF_MAX, HEALTHY_SECONDS, Supervised


class FakeProc:
    def __init__(self):
        self.returncode = None

    def poll(self):
        return self.returncode


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_dead_worker_is_restarted_with_a_growing_pause_and_the_reason_logged(caplog):
    clock, spawned = Clock(), []

    def spawn(argv):
        spawned.append(FakeProc())
        return spawned[-1]

    w = Supervised("worker", ["worker"], clock=clock, spawn=spawn)
    caplog.set_level(logging.INFO, logger="closeloop.run")
    pauses = []
    for _ in range(8):
        spawned[-1].returncode = -signal.SIGKILL
        w.tick()
        assert not w.alive()
        died_at = clock.now
        while len(spawned) == len(pauses) + 1:
            clock.now += 0.5
            w.tick()
        pauses.append(clock.now - died_at)
        assert w.alive()
    assert pauses[:4] == [1.0, 2.0, 4.0, 8.0] and max(pauses) == BACKOFF_MAX
    assert "worker died (killed by SIGKILL)" in caplog.text
    # A worker that stayed up a while starts over from the first pause.
    clock.now += HEALTHY_SECONDS
    spawned[-1].returncode = 1
    w.tick()
    assert w.restart_at == clock.now + 1.0
    assert "exit status 1" in caplog.text
