"""The IR: ONNX held in onnx_ir, plus what every frontend and pass shares.

- ``builder``: emit nodes with per-node shape inference and constant folding.
- ``contract``: what a model must be between load and write (``check_contract``).
- ``proto``: proto helpers (``skeleton``, ``weightless``).
- ``provenance``: which tensor names passes absorbed into which survivors.
"""
