"""The per-shape executors of VariableShapeModule.

``ExecutorCache`` keeps one ``mx.mod.Module`` per input shape. The first one (the
"master", bound by ``VariableShapeModule.bind``) owns the parameters; every other
one is bound with ``shared_module=master``, so MXNet gives it the master's
parameter and auxiliary-state memory and the updates made through any of them are
seen by all.
"""

from collections import OrderedDict

from mxnet.base import MXNetError
from mxnet.io import DataDesc
from mxnet.module import Module


def describe_batch(data_batch, data_names, label_names, symbol, layouts):
    """Return ``(data_descs, label_descs)`` for the arrays carried by ``data_batch``.

    Shapes and dtypes come from the arrays themselves (not from ``provide_data``,
    which iterators sometimes leave at the size of the first batch). When the batch
    carries no labels but the module has label inputs, their shapes are inferred
    from the symbol so that the executor bound for this shape can also train.
    """
    if isinstance(data_batch, (list, tuple)):
        raise TypeError("VariableShapeModule.forward() takes one DataBatch, not a list "
                        "of batches; multi-device splitting is done by the module")
    arrays = getattr(data_batch, "data", None)
    if not arrays:
        raise ValueError("the data batch has no data arrays (data_batch.data is empty)")
    if len(arrays) != len(data_names):
        raise ValueError("the data batch has %d data arrays but the module expects %d (%s)"
                         % (len(arrays), len(data_names), ", ".join(data_names)))
    data_descs = [DataDesc(name, tuple(arr.shape), arr.dtype, layouts.get(name, "NCHW"))
                  for name, arr in zip(data_names, arrays)]
    if not label_names:
        return data_descs, None

    labels = getattr(data_batch, "label", None)
    if labels:
        if len(labels) != len(label_names):
            raise ValueError("the data batch has %d label arrays but the module expects %d (%s)"
                             % (len(labels), len(label_names), ", ".join(label_names)))
        return data_descs, [DataDesc(name, tuple(arr.shape), arr.dtype)
                            for name, arr in zip(label_names, labels)]

    # No labels given (e.g. inference): infer them so the key stays the same as for
    # a labelled batch of the same data shape.
    try:
        arg_shapes, _, _ = symbol.infer_shape_partial(
            **{d.name: d.shape for d in data_descs})
    except MXNetError:
        return data_descs, None
    known = dict(zip(symbol.list_arguments(), arg_shapes))
    label_descs = []
    for name in label_names:
        shape = known.get(name)
        if not shape or 0 in shape:
            return data_descs, None
        label_descs.append(DataDesc(name, tuple(shape)))
    return data_descs, label_descs


def shape_key(data_descs, label_descs):
    """Hashable key identifying the executor bound for these input shapes."""
    data = tuple((d.name, tuple(d.shape)) for d in data_descs)
    label = tuple((d.name, tuple(d.shape)) for d in (label_descs or ()))
    return data, label


def check_param_shapes(symbol, data_descs, label_descs, arg_params, aux_params):
    """Raise a clear error when parameter shapes depend on the input shape.

    Executors for different input sizes can only share parameters when every
    parameter keeps its shape (for a CNN: global pooling before FullyConnected).
    """
    shapes = {d.name: tuple(d.shape) for d in list(data_descs) + list(label_descs or ())}
    described = ", ".join("%s:%s" % (k, v) for k, v in shapes.items())
    try:
        arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    except MXNetError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError("the network cannot run on inputs %s: %s" % (described, first_line))
    if arg_shapes is None:
        raise ValueError("cannot infer all shapes of the network for inputs %s" % described)
    pairs = list(zip(symbol.list_arguments(), arg_shapes)) + \
        list(zip(symbol.list_auxiliary_states(), aux_shapes))
    for name, shape in pairs:
        current = arg_params.get(name, aux_params.get(name))
        if current is not None and tuple(current.shape) != tuple(shape):
            raise ValueError(
                "parameter '%s' would need shape %s for inputs %s, but the module's "
                "parameter has shape %s; a network trained on several input sizes needs "
                "parameters whose shapes do not depend on the input size (e.g. use global "
                "pooling before FullyConnected)" % (name, tuple(shape), described,
                                                    tuple(current.shape)))


class ExecutorCache:
    """Modules bound per input-shape key, least recently used first; the master stays."""

    def __init__(self, module_kwargs, master, max_cached=None, monitor=None):
        self._module_kwargs = module_kwargs
        self.master = master
        self._master_key = shape_key(master.data_shapes, master.label_shapes)
        self._modules = OrderedDict([(self._master_key, master)])
        self._max_cached = max_cached
        self._monitor = monitor

    def keys(self):
        return list(self._modules)

    def install_monitor(self, monitor):
        self._monitor = monitor
        for module in self._modules.values():
            module.install_monitor(monitor)

    def module_for(self, data_batch, symbol):
        """The Module bound for the shapes of ``data_batch``, bound now if new."""
        master = self.master
        data_descs, label_descs = describe_batch(
            data_batch, master.data_names, master.label_names if master.label_shapes else [],
            symbol, {d.name: d.layout for d in master.data_shapes})
        key = shape_key(data_descs, label_descs)
        module = self._modules.get(key)
        if module is not None:
            self._modules.move_to_end(key)
            return module
        check_param_shapes(symbol, data_descs, label_descs,
                           master._arg_params, master._aux_params)
        module = Module(**self._module_kwargs)
        module.bind(data_descs, label_descs, for_training=master.for_training,
                    inputs_need_grad=master.inputs_need_grad, shared_module=master,
                    grad_req="write")
        if self._monitor is not None:
            module.install_monitor(self._monitor)
        self._modules[key] = module
        while self._max_cached is not None and len(self._modules) - 1 > self._max_cached:
            oldest = next(k for k in self._modules if k != self._master_key)
            del self._modules[oldest]
        return module
