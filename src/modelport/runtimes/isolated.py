"""Run an engine that can crash (ncnn, OpenCV dnn) in a child process.

``Isolated(factory, *args)`` builds the runner in a child process (``factory(*args)``, a
module-level callable) and forwards every call of the ``Runner`` protocol to it over a
pipe. A segfault or abort in the engine then ends the child, not modelport: the call
raises one ``VerificationError`` naming the engine, the call and the signal. Results
cross the pipe as pickles between our own two processes (numpy arrays and plain
types); nothing from a model file is ever unpickled.
"""
from __future__ import annotations

import multiprocessing as mp
import signal
import traceback

from modelport.errors import ModelportError, VerificationError

_CALLS = ("input_names", "input_dims", "accepts", "order", "head_names", "op_of", "absorbed", "run", "input_types")


def _serve(conn, factory, args) -> None:
    try:
        runner = factory(*args)
        conn.send(("ok", runner.name))
    except ModelportError as exc:
        conn.send(("user", str(exc)))
        return
    except Exception:  # noqa: BLE001 - reported to the parent as an engine failure
        conn.send(("error", traceback.format_exc(limit=3)))
        return
    while True:
        try:
            method, call_args = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", getattr(runner, method)(*call_args)))
        except ModelportError as exc:
            conn.send(("user", str(exc)))
        except Exception:  # noqa: BLE001
            conn.send(("error", traceback.format_exc(limit=3)))


class Isolated:
    """A Runner whose engine lives in a child process (see module doc)."""

    def __init__(self, factory, *args, engine: str = "engine"):
        ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited engine state
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, factory, args), daemon=True)
        self.name = engine
        self._proc.start()
        child.close()
        self.name = self._receive("start")

    def _receive(self, call: str):
        try:
            status, value = self._conn.recv()
        except (EOFError, ConnectionResetError):
            self._proc.join(5)
            code = self._proc.exitcode
            how = (f"signal {signal.Signals(-code).name}" if code is not None and code < 0
                   else f"exit code {code}")
            raise VerificationError(f"the {self.name} engine crashed during {call} ({how}); "
                                    "the model or its input is probably malformed for this engine") from None
        if status == "user":
            raise VerificationError(value)
        if status == "error":
            raise VerificationError(f"the {self.name} engine failed during {call}: {value.strip().splitlines()[-1]}")
        return value

    def _call(self, method: str, *args):
        if not self._proc.is_alive():
            raise VerificationError(f"the {self.name} engine is no longer running")
        self._conn.send((method, args))
        return self._receive(method)

    def __getattr__(self, method: str):
        if method not in _CALLS:
            raise AttributeError(method)
        return lambda *args: self._call(method, *args)

    def close(self) -> None:
        if self._proc.is_alive():
            self._conn.close()
            self._proc.join(2)
            if self._proc.is_alive():
                self._proc.kill()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
