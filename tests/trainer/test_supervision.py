"""Signals in the trainer (trainers.a3c.supervision)."""

import ctypes
import os
import signal

import pytest

from trainers.a3c.supervision import (
    Terminated,
    deferred_interrupts,
    raise_pending_interrupt,
    terminate_as_interrupt,
)


def _signal_inside_a_ctypes_callback(sig):
    """Deliver ``sig`` while Python code runs as a C callback (as numba's cache loader does):
    the handler's exception is printed and swallowed there."""
    def callback():
        os.kill(os.getpid(), sig)
        for _ in range(1000):  # bytecodes: the handler runs here, inside the callback
            pass

    ctypes.CFUNCTYPE(None)(callback)()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallow
def test_an_interruption_swallowed_by_a_callback_is_raised_again():
    with terminate_as_interrupt():
        _signal_inside_a_ctypes_callback(signal.SIGTERM)  # no exception escapes it
        with pytest.raises(Terminated, match="SIGTERM"):
            raise_pending_interrupt()
        raise_pending_interrupt()  # once only


def test_an_interruption_that_was_raised_is_not_raised_twice():
    with terminate_as_interrupt():
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                pass
    with terminate_as_interrupt():
        raise_pending_interrupt()  # a new section starts clean


def test_a_held_signal_waits_for_the_end_of_the_section():
    with terminate_as_interrupt():
        done = []
        with pytest.raises(Terminated, match="SIGHUP"):
            with deferred_interrupts():
                os.kill(os.getpid(), signal.SIGHUP)
                for _ in range(1000):
                    pass
                done.append(True)
        assert done == [True]
