"""The collector is paused while a search runs and restored after, whatever the nesting,
overlap across threads, or exceptions; never turned on when it was off."""

from __future__ import annotations

import gc
import threading

import pytest
from aalp.optimizer.gcpause import paused


@pytest.fixture(autouse=True)
def _restore():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_and_restored_even_when_the_block_raises():
    gc.enable()
    with paused():
        assert not gc.isenabled()
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer search still runs
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("a search that fails")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with paused():
        pass
    assert not gc.isenabled()


def test_overlapping_searches_in_threads_restore_the_collector_once_all_end():
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first():
        with paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first ended, this one still runs

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_optimize_leaves_the_collector_as_it_found_it(load_sample):
    checked = load_sample("voting")
    from aalp.optimizer.driver import optimize

    gc.enable()
    optimize(checked)
    assert gc.isenabled()
    gc.disable()
    optimize(checked)
    assert not gc.isenabled()
