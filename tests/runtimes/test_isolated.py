"""Crash isolation: an engine that segfaults or aborts ends its child process, not modelport."""
import sys
from pathlib import Path

import numpy as np
import pytest

from modelport.errors import VerificationError
from modelport.runtimes.isolated import Isolated

sys.path.insert(0, str(Path(__file__).parent))
from crashy import CrashyRunner  # noqa: E402


def test_calls_are_forwarded_to_the_child():
    runner = Isolated(CrashyRunner, engine="crashy")
    x = np.array([[-1.0, 2.0, -3.0]], np.float32)
    assert runner.name == "crashy" and runner.input_names() == ["x"] and runner.accepts({"x": (1, 3)})
    np.testing.assert_array_equal(runner.run({"x": x})["y"], np.maximum(x, 0))
    runner.close()


def test_a_segfault_while_running_is_one_clear_error():
    runner = Isolated(CrashyRunner, engine="crashy")
    with pytest.raises(VerificationError, match=r"crashy engine crashed during run \(signal SIGSEGV\)"):
        runner.run({"x": np.full((1, 3), -1000.0, np.float32)})
    with pytest.raises(VerificationError, match="no longer running"):
        runner.order()


def test_an_abort_at_load_is_one_clear_error():
    with pytest.raises(VerificationError, match=r"crashed during start \(signal SIGABRT\)"):
        Isolated(CrashyRunner, True, engine="crashy")


def test_verify_survives_a_crashing_candidate():
    from modelport.verify.api import verify_runners

    reference = CrashyRunner(fragile=False)  # in this process: must not crash
    candidate = Isolated(CrashyRunner, engine="crashy")
    report = verify_runners(reference, candidate, inputs={"x": (1, 3)}, input_range=(0.0, 1.0))
    assert report.ok
    with pytest.raises(VerificationError, match="SIGSEGV"):
        verify_runners(reference, candidate, inputs={"x": (1, 3)}, input_range=(-2000.0, -1000.0))
