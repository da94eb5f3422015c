"""Run a Caffe model (.prototxt + .caffemodel) in OpenCV dnn, exposing every layer's tops.

OpenCV is Caffe's runtime here (no Caffe package exists for this platform). For exact
comparison Winograd convolution and layer fusion are off (fusion folds BatchNorm/ReLU
into the convolution and hides their outputs). Every layer's outputs come from
``forwardAndRetrieve`` by layer name, all of a layer's tops at once (OpenCV's
``forward(name)`` gives only a layer's first output; the other outputs of a multi-top
layer are read by running the net up to that layer alone, since OpenCV reuses their
memory later in a full pass), and are keyed by top name; a top
an in-place layer rewrites (top == bottom, as in files by others) is keyed by the layer's
name, the way OpenCV itself registers it, and its top name holds the last value.
The prototxt is parsed with modelport's own caffe.proto for the net's structure;
modelport's writer puts the name provenance and the graph outputs in comment lines at
its top. ``opencv_caffe_runner(prototxt)`` wraps the runner in a child process
(``runtimes.isolated``): malformed nets can segfault OpenCV.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from modelport.errors import VerificationError

OUTPUTS_KEY = "modelport.outputs"


def _comment(prototxt: Path, key: str):
    prefix = f"# {key}: "
    with open(prototxt, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith("#"):
                break
            if line.startswith(prefix):
                try:
                    return json.loads(line[len(prefix):])
                except json.JSONDecodeError:
                    return None
    return None


def read_net(prototxt: Path):
    from google.protobuf import text_format

    from modelport.backends.caffe import caffe_pb2

    net = caffe_pb2.NetParameter()
    try:
        text_format.Parse(Path(prototxt).read_text(encoding="utf-8", errors="replace"), net)
    except text_format.ParseError as exc:
        raise VerificationError(f"{prototxt}: not a Caffe prototxt modelport can read ({exc})") from None
    return net


def caffemodel_for(prototxt: Path) -> Path:
    return Path(prototxt).with_suffix(".caffemodel")


class OpenCVCaffeRunner:
    name = "opencv-caffe"

    def __init__(self, prototxt: str | Path, caffemodel: str | Path | None = None):
        import cv2

        self.prototxt = Path(prototxt)
        self.caffemodel = Path(caffemodel) if caffemodel else caffemodel_for(self.prototxt)
        for path in (self.prototxt, self.caffemodel):
            if not path.is_file():
                raise VerificationError(f"{path}: file not found")
        self.proto = read_net(self.prototxt)
        try:
            self.net = cv2.dnn.readNetFromCaffe(str(self.prototxt), str(self.caffemodel))
        except cv2.error as exc:
            raise VerificationError(f"OpenCV cannot load {self.prototxt.name}: {str(exc).strip().splitlines()[-1]}") from None
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self.net.enableWinograd(False)
        self.net.enableFusion(False)
        self._dims = self._inputs()
        self._layers = [l for l in self.proto.layer if l.type != "Input"]
        self._absorbed = {}
        from modelport.backends.caffe.writer import read_absorbed

        self._absorbed = read_absorbed(self.prototxt)
        self._outputs = _comment(self.prototxt, OUTPUTS_KEY)
        # OpenCV registers a one-top layer whose name differs from its top (an NNIE `_hp` layer:
        # name conv5_hp, top conv5) under the top's name: ask for each layer by the name OpenCV knows
        known = set(self.net.getLayerNames())
        self._cv_name = {l.name: l.name if l.name in known or not l.top or l.top[0] not in known else l.top[0]
                         for l in self._layers}

    def _inputs(self) -> dict[str, tuple]:
        dims: dict[str, tuple] = {}
        p = self.proto
        for k, name in enumerate(p.input):
            if k < len(p.input_shape):
                dims[name] = tuple(int(d) for d in p.input_shape[k].dim)
            elif len(p.input_dim) >= 4 * (k + 1):
                dims[name] = tuple(int(d) for d in p.input_dim[4 * k:4 * k + 4])
            else:
                dims[name] = None
        for layer in p.layer:
            if layer.type == "Input":
                shapes = list(layer.input_param.shape)
                for k, top in enumerate(layer.top):
                    shape = shapes[k] if k < len(shapes) else (shapes[0] if shapes else None)
                    dims[top] = tuple(int(d) for d in shape.dim) if shape is not None else None
        return dims

    def _key(self, layer, k: int) -> str:
        top = layer.top[k]
        return layer.name if top in layer.bottom else top

    def input_names(self) -> list[str]:
        return list(self._dims)

    def input_dims(self) -> dict[str, tuple | None]:
        return dict(self._dims)

    def input_types(self) -> dict[str, np.dtype]:
        return {name: np.dtype(np.float32) for name in self._dims}

    def accepts(self, shapes: dict[str, tuple]) -> bool:
        return all(self._dims.get(k) is None or tuple(v) == self._dims[k] for k, v in shapes.items())

    def order(self) -> list[str]:
        return [self._key(layer, k) for layer in self._layers for k in range(len(layer.top))]

    def head_names(self) -> list[str]:
        if self._outputs:
            return list(self._outputs)
        read = {b for layer in self._layers for b in layer.bottom}
        return [t for layer in self._layers for t in layer.top if t not in read]

    def op_of(self) -> dict[str, str]:
        return {self._key(layer, k): layer.type for layer in self._layers for k in range(len(layer.top))}

    def absorbed(self) -> dict[str, tuple[str, str]]:
        return dict(self._absorbed)

    def run(self, feeds: dict[str, np.ndarray], outputs="all") -> dict[str, np.ndarray]:
        import cv2

        for name, value in feeds.items():
            self.net.setInput(np.ascontiguousarray(value, dtype=np.float32), name)
        layers = self._layers
        if outputs == "heads":
            heads = set(self.head_names())
            layers = [l for l in layers if heads & set(l.top)]
        elif outputs != "all":
            wanted = set(outputs)
            layers = [l for l in layers if wanted & ({l.name} | set(l.top))]
        try:
            values = list(self.net.forwardAndRetrieve([self._cv_name[l.name] for l in layers]))
            # OpenCV keeps only a layer's first output for the caller: the others' memory is
            # reused by later layers. A layer with several tops is run again on its own (the
            # forward pass then stops at it).
            for k, layer in enumerate(layers):
                if len(layer.top) > 1:
                    values[k] = self.net.forwardAndRetrieve([self._cv_name[layer.name]])[0]
        except cv2.error as exc:
            raise VerificationError(f"OpenCV failed to run: {str(exc).strip().splitlines()[-1]}") from None
        result: dict[str, np.ndarray] = {}
        for layer, outs in zip(layers, values):
            for k, value in enumerate(outs):
                if k >= len(layer.top):
                    continue
                array = np.array(value, copy=True)
                result[self._key(layer, k)] = array
                result[layer.top[k]] = array  # the top's latest value (in-place chains)
        return result


def opencv_caffe_runner(prototxt: str | Path, caffemodel: str | Path | None = None):
    """The runner in a child process: a crash in OpenCV is one VerificationError."""
    from modelport.runtimes.isolated import Isolated

    args = (str(prototxt),) + ((str(caffemodel),) if caffemodel else ())
    return Isolated(OpenCVCaffeRunner, *args, engine="opencv-caffe")
