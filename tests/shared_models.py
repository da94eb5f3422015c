"""The MXNet checkpoints in ../shared/models and how to run them (see each SOURCE.txt)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models"


@dataclass(frozen=True)
class SharedModel:
    id: str
    symbol: str
    params: str
    shapes: list = field(default_factory=list)  # input shapes to verify at (first = convert shape)


MXNET_MODELS = [
    SharedModel("mnist", "mnist_cnn_mentalblood/mnist-symbol.json", "mnist_cnn_mentalblood/mnist-0035.params",
                [{"data": (1, 1, 28, 28)}, {"data": (3, 1, 28, 28)}]),
    SharedModel("fashion_mnist", "mnist_cnn_mentalblood/fashion-mnist-symbol.json",
                "mnist_cnn_mentalblood/fashion-mnist-0039.params", [{"data": (1, 1, 28, 28)}, {"data": (2, 1, 28, 28)}]),
    SharedModel("tiny_mlp", "tiny_mlp_cosmincatalin/model-symbol.json", "tiny_mlp_cosmincatalin/model-0004.params",
                [{"data": (1, 4)}, {"data": (5, 4)}]),
    SharedModel("mobilefacenet", "mobilefacenet_y1/model-symbol.json", "mobilefacenet_y1/model-0000.params",
                [{"data": (1, 3, 112, 112)}, {"data": (2, 3, 112, 112)}]),
    SharedModel("retinaface_mnet025", "retinaface_mnet025/mnet.25-symbol.json", "retinaface_mnet025/mnet.25-0000.params",
                [{"data": (1, 3, 320, 320)}, {"data": (1, 3, 239, 321)}]),
] + [
    SharedModel(f"mtcnn_{d}{suffix}", f"mtcnn_mxnet/{folder}{d}-symbol.json", f"mtcnn_mxnet/{d}-0001.params", shapes)
    for folder, suffix in (("", ""), ("resaved_symbols/", "_resaved"))
    for d, shapes in (
        ("det1", [{"data": (1, 3, 12, 12)}, {"data": (1, 3, 47, 33)}]),
        ("det2", [{"data": (1, 3, 24, 24)}, {"data": (4, 3, 24, 24)}]),
        ("det3", [{"data": (1, 3, 48, 48)}, {"data": (2, 3, 48, 48)}]),
        ("det4", [{"data": (1, 15, 24, 24)}, {"data": (2, 15, 24, 24)}]),
    )
]


@dataclass(frozen=True)
class SharedOnnxModel:
    id: str
    path: str
    inputs: dict | None  # the shape to convert at; None keeps the model's free axes
    runs: int  # verify runs: 2 where the converted model leaves spatial axes free, else 1
    batchnorms: int = 0  # BatchNormalization nodes fed by a Conv in the original (all folded)


ONNX_MODELS = [
    SharedOnnxModel("ultraface_rfb320", "onnx_ultraface_rfb320/version-RFB-320.onnx",
                    {"input": (1, 3, 240, 320)}, 1, batchnorms=35),
    SharedOnnxModel("ultraface_rfb320_raw", "onnx_ultraface_rfb320/version-RFB-320_without_postprocessing.onnx",
                    {"input": (1, 3, 240, 320)}, 1, batchnorms=35),
    SharedOnnxModel("yunet_n", "onnx_yunet_n/yunet_n_320_320.onnx", {"input": (1, 3, 320, 320)}, 1),
    SharedOnnxModel("mtcnn_pnet", "onnx_mtcnn_pypi/pnet.onnx", None, 2),
    SharedOnnxModel("mtcnn_rnet", "onnx_mtcnn_pypi/rnet.onnx", {"input_2": (1, 24, 24, 3)}, 1),
    SharedOnnxModel("mtcnn_onet", "onnx_mtcnn_pypi/onet.onnx", {"input_3": (1, 48, 48, 3)}, 1),
]
