"""Silence an engine's own logging (C++ LOG(INFO) lines, Python prints) around a call.

Engines print to the process's file descriptors 1 and 2 directly, which Python's
``sys.stdout`` redirection cannot catch; ``quiet()`` points both descriptors at a
temporary file for the duration and hands back what was written, so a successful
run prints nothing and a failure can still show the engine's own words.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile


@contextlib.contextmanager
def quiet():
    """Yield a list that receives the captured text (one string) when the block ends."""
    captured: list[str] = []
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError):
            pass
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink, contextlib.redirect_stdout(io.StringIO()) as py_out:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            captured.append(py_out.getvalue() + sink.read().decode("utf-8", "replace"))
