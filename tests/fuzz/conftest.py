"""Seeds for the fuzz tests: a checkpoint MXNet saves, hand-packed .params in every layout,
ONNX models built with onnx.helper, and ../shared/models files when they are there."""
from __future__ import annotations

import logging

import pytest

from shared_models import SHARED as SHARED_MODELS
from fuzz.generators import build_seeds


@pytest.fixture(scope="session")
def seeds(tmp_path_factory):
    pytest.importorskip("mxnet")
    return build_seeds(tmp_path_factory.mktemp("fuzz-seeds"), SHARED_MODELS if SHARED_MODELS.is_dir() else None)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    """One folder the cases of a session overwrite (hypothesis does not take function-scoped fixtures)."""
    return tmp_path_factory.mktemp("fuzz-run")


@pytest.fixture(autouse=True, scope="module")
def _quiet_onnx_ir():
    """onnx_ir logs a warning for every malformed graph it repairs; thousands of cases drown the report."""
    logger = logging.getLogger("onnx_ir")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)
