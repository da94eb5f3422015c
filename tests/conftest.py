import os
from pathlib import Path

import pytest

os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
SHARED_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"


@pytest.fixture(scope="session")
def shared_models() -> Path:
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"shared models not found at {SHARED_MODELS} (they live beside the checkout in ../shared/models)")
    return SHARED_MODELS
