"""A runner whose engine crashes on demand (for the crash-isolation tests; importable by a child)."""
import ctypes
import os

import numpy as np


class CrashyRunner:
    name = "crashy"

    def __init__(self, crash_on_start: bool = False, fragile: bool = True):
        if crash_on_start:
            os.abort()
        self.fragile = fragile

    def input_names(self):
        return ["x"]

    def input_dims(self):
        return {"x": (1, 3)}

    def input_types(self):
        return {"x": np.dtype(np.float32)}

    def accepts(self, shapes):
        return True

    def order(self):
        return ["y"]

    def head_names(self):
        return ["y"]

    def op_of(self):
        return {"y": "Relu"}

    def absorbed(self):
        return {}

    def run(self, feeds, outputs="all"):
        x = feeds["x"]
        if self.fragile and float(x.ravel()[0]) < -100:  # the "malformed input" that brings the engine down
            ctypes.string_at(0)  # segfault
        return {"y": np.maximum(x, 0)}
