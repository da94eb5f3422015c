"""A Module for training MXNet symbols on inputs whose shape changes between batches.

``VariableShapeModule`` follows the ``mx.mod.Module`` API. Internally it keeps one
``mx.mod.Module`` per input shape; every one of them is bound with ``shared_module``
pointing at the first ("master") module, so they all read and write the same
parameter, auxiliary-state and optimizer memory. Gradients are copied into
module-owned buffers after each ``backward()`` and applied by one ``update()``.
"""

import logging
import os

import mxnet as mx
from mxnet.module import BaseModule, Module

from ._accumulator import GradientAccumulator
from ._executors import ExecutorCache


class VariableShapeModule(BaseModule):
    """Module that trains on batches of varying input shape with gradient accumulation.

    Parameters are the same as for ``mx.mod.Module``, plus:

    accumulate : {'mean', 'sum'}
        How gradients of several ``backward()`` calls are combined by one ``update()``:
        ``'mean'`` (default) divides their sum by the number of accumulated steps,
        ``'sum'`` applies the plain sum. The optimizer's own ``rescale_grad`` (MXNet's
        default: 1 / batch size of the shapes given to ``bind``) applies on top.
    max_cached_shapes : int or None
        Most executors kept for input shapes other than the one given to ``bind``
        (least recently used ones are dropped). ``None`` keeps all.
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",),
                 logger=logging, context=mx.cpu(), work_load_list=None,
                 fixed_param_names=None, state_names=None, group2ctxs=None,
                 compression_params=None, accumulate="mean", max_cached_shapes=None):
        super().__init__(logger=logger)
        self._grads = GradientAccumulator(accumulate)    # validates `accumulate`
        if max_cached_shapes is not None and int(max_cached_shapes) < 1:
            raise ValueError("max_cached_shapes must be None or >= 1, got %r" % (max_cached_shapes,))
        self._module_kwargs = dict(
            symbol=symbol, data_names=data_names, label_names=label_names, logger=logger,
            context=context, work_load_list=work_load_list,
            fixed_param_names=fixed_param_names, state_names=state_names,
            group2ctxs=group2ctxs, compression_params=compression_params)
        self._symbol = symbol
        self._max_cached = None if max_cached_shapes is None else int(max_cached_shapes)
        # An unbound Module validates names and serves as master until bind().
        self._master = Module(**self._module_kwargs)
        self._executors = None          # ExecutorCache once bound
        self._current = None
        self._pending = None            # (arg, aux, allow_extra) given before bind()
        self._preload_opt_states = None
        self._params_dirty = False
        self._backward_ready = False
        self._forwarded = False
        self._monitor = None

    # ------------------------------------------------------------------ properties
    @property
    def symbol(self):
        return self._symbol

    @property
    def data_names(self):
        return self._master.data_names

    @property
    def label_names(self):
        return self._master.label_names

    @property
    def output_names(self):
        return self._master.output_names

    @property
    def data_shapes(self):
        self._require_bound("data_shapes")
        return self._current.data_shapes

    @property
    def label_shapes(self):
        self._require_bound("label_shapes")
        return self._current.label_shapes

    @property
    def output_shapes(self):
        self._require_bound("output_shapes")
        return self._current.output_shapes

    @property
    def accumulate(self):
        """'mean' or 'sum': how accumulated gradients are combined."""
        return self._grads.mode

    @property
    def accumulated_steps(self):
        """Number of ``backward()`` calls whose gradients wait for ``update()``."""
        return self._grads.steps

    @property
    def cached_shapes(self):
        """Input-shape keys of the executors currently bound, least recently used first."""
        return self._executors.keys() if self._executors is not None else []

    # ------------------------------------------------------------------ checks
    def _require_bound(self, what):
        if not self.binded:
            raise RuntimeError("%s needs a bound module: call bind() first" % what)

    def _require_params(self, what):
        self._require_bound(what)
        if not self.params_initialized:
            raise RuntimeError("%s needs parameters: call init_params() or set_params() first"
                               % what)

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes, label_shapes=None, for_training=True,
             inputs_need_grad=False, force_rebind=False, shared_module=None,
             grad_req="write"):
        """Bind executors for ``data_shapes``; other shapes are bound on demand by forward().

        ``force_rebind=True`` drops all executors but keeps the latest parameters,
        the optimizer (and its state) and any accumulated gradients.
        ``grad_req`` may be 'write' or 'add': either way gradients are accumulated
        by the module until ``update()``.
        """
        if shared_module is not None:
            raise ValueError("VariableShapeModule does not take shared_module: it shares "
                             "parameters between its own per-shape executors")
        if grad_req not in ("write", "add"):
            raise ValueError("grad_req must be 'write' or 'add' (gradients are accumulated "
                             "until update() either way); use for_training=False or "
                             "fixed_param_names to disable gradients, got %r" % (grad_req,))
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return

        if not label_shapes:
            label_shapes = None     # e.g. NDArrayIter without labels provides []
        old = self._master if self.binded else None
        params = None
        if old is not None and self.params_initialized:
            params = self._synced_params(force=True) + (False,)
        elif self._pending is not None:
            params = self._pending

        master = Module(**self._module_kwargs)
        master.bind(data_shapes, label_shapes, for_training=for_training,
                    inputs_need_grad=inputs_need_grad, grad_req="write")
        if params is not None:
            master.init_params(initializer=None, arg_params=params[0], aux_params=params[1],
                               allow_missing=False, force_init=True,
                               allow_extra=params[2])
        if old is not None and old.optimizer_initialized:
            master.borrow_optimizer(old)
        if self._monitor is not None:
            master.install_monitor(self._monitor)

        self._master = master
        self._executors = ExecutorCache(self._module_kwargs, master, self._max_cached,
                                        self._monitor)
        self._current = master
        self._pending = None
        self._backward_ready = False
        self._forwarded = False
        self._params_dirty = False
        self.binded = True
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.params_initialized = params is not None
        self._total_exec_bytes = master._total_exec_bytes

    # ------------------------------------------------------------------ parameters
    def _synced_params(self, force=False):
        """The master's CPU parameter copies, refreshed from the devices when needed."""
        if force or self._params_dirty:
            # The executors of all shapes share the master's device memory, so syncing
            # the master picks up every update, whichever executor ran it.
            self._master._sync_params_from_devices()
            self._params_dirty = False
        return self._master._arg_params, self._master._aux_params

    def get_params(self):
        """Return copies of the latest ``(arg_params, aux_params)``."""
        if not self.params_initialized:
            raise RuntimeError("get_params() needs parameters: call init_params(), "
                               "set_params() or load() first")
        if not self.binded:
            arg, aux = self._pending[0], self._pending[1]
        else:
            arg, aux = self._synced_params()
        return ({k: v.copy() for k, v in arg.items()}, {k: v.copy() for k, v in aux.items()})

    def init_params(self, initializer=mx.init.Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        if not self.binded:
            raise RuntimeError("init_params() needs a bound module: call bind() first "
                               "(set_params() and load() also work before bind())")
        if self.params_initialized and not force_init:
            self.logger.warning("Parameters already initialized and force_init=False. "
                                "init_params call ignored.")
            return
        if self.params_initialized:
            # Params left out (allow_missing) keep their latest values, not a stale copy.
            self._synced_params()
        self._master.init_params(initializer=initializer, arg_params=arg_params,
                                 aux_params=aux_params, allow_missing=allow_missing,
                                 force_init=True, allow_extra=allow_extra)
        self._params_dirty = False      # the master's CPU copies are the values just set
        self.params_initialized = True

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Set parameter values; before bind() they are kept until bind()."""
        if self.binded:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        if allow_missing:
            raise ValueError("set_params(allow_missing=True) before bind() is not supported: "
                             "bind() first, then set_params() or init_params()")
        if self.params_initialized and not force_init:
            self.logger.warning("Parameters already set and force_init=False; ignored.")
            return
        self._pending = ({k: v.copy() for k, v in (arg_params or {}).items()},
                         {k: v.copy() for k, v in (aux_params or {}).items()},
                         allow_extra)
        self.params_initialized = True

    # ------------------------------------------------------------------ optimizer
    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        self._require_params("init_optimizer()")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        self._synced_params()
        # MXNet's default on several devices keeps a second copy of the weights in the
        # kvstore and updates that one, so a later set_params() would be reverted by
        # the next update(). Unless the user chose otherwise, update on the devices
        # (the kvstore then only sums gradients): the executors stay the one source.
        forced = "MXNET_UPDATE_ON_KVSTORE" not in os.environ
        if forced:
            os.environ["MXNET_UPDATE_ON_KVSTORE"] = "0"
        try:
            self._master.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                                        optimizer_params=optimizer_params, force_init=True)
        finally:
            if forced:
                del os.environ["MXNET_UPDATE_ON_KVSTORE"]
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self._master.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def save_optimizer_states(self, fname):
        if not self.optimizer_initialized:
            raise RuntimeError("save_optimizer_states() needs init_optimizer() first")
        self._master.save_optimizer_states(fname)

    def load_optimizer_states(self, fname):
        if not self.optimizer_initialized:
            raise RuntimeError("load_optimizer_states() needs init_optimizer() first")
        self._master.load_optimizer_states(fname)

    # ------------------------------------------------------------------ computation
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Bind (or pick) the executor for the shapes of ``data_batch`` ahead of forward()."""
        self._require_params("prepare()")
        module = self._executors.module_for(data_batch, self._symbol)
        module.prepare(data_batch, sparse_row_id_fn=sparse_row_id_fn)

    def forward(self, data_batch, is_train=None):
        """Run forward on the executor bound for this batch's shapes (bound on first use)."""
        self._require_params("forward()")
        if is_train is None:
            is_train = self.for_training
        if is_train and not self.for_training:
            raise RuntimeError("forward(is_train=True) on a module bound with "
                               "for_training=False: bind(..., force_rebind=True, "
                               "for_training=True) to train")
        if is_train and self._master.label_shapes and not getattr(data_batch, "label", None):
            raise ValueError("forward(is_train=True) needs labels (data_batch.label): the "
                             "module was bound with label shapes for %s"
                             % ", ".join(d.name for d in self._master.label_shapes))
        module = self._executors.module_for(data_batch, self._symbol)
        module.forward(data_batch, is_train=is_train)
        self._current = module
        self._forwarded = True
        self._backward_ready = bool(is_train)
        if is_train:
            self._params_dirty = True

    def backward(self, out_grads=None):
        """Backward for the last forward(); its gradients are added to the accumulated ones."""
        self._require_params("backward()")
        if not self.for_training:
            raise RuntimeError("backward() on a module bound with for_training=False")
        if not self._backward_ready:
            raise RuntimeError("backward() must follow a forward(is_train=True); each "
                               "backward() needs its own forward()")
        self._current.backward(out_grads=out_grads)
        self._backward_ready = False
        self._grads.add(self._current._exec_group.grad_arrays)
        self._params_dirty = True       # BatchNorm moving statistics change in backward

    def update(self):
        """Apply the gradients accumulated since the last update() in one optimizer step."""
        self._require_params("update()")
        if not self.optimizer_initialized:
            raise RuntimeError("update() needs an optimizer: call init_optimizer() first")
        if self._grads.steps == 0:
            raise RuntimeError("update() called without any backward() since the last "
                               "update(): there are no gradients to apply")
        # The optimizer updates the master's parameter arrays, which every executor shares.
        self._grads.write_to(self._master._exec_group.grad_arrays)
        self._master.update()
        self._grads.reset()
        self._params_dirty = True

    def discard_gradients(self):
        """Forget gradients accumulated since the last update()."""
        self._grads.reset()

    def _require_forward(self, what):
        self._require_params(what)
        if not self._forwarded:
            raise RuntimeError("%s needs a forward() first" % what)

    def get_outputs(self, merge_multi_context=True):
        self._require_forward("get_outputs()")
        return self._current.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        self._require_forward("get_input_grads()")
        return self._current.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context=True):
        self._require_params("get_states()")
        return self._current.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        self._require_params("set_states()")
        self._current.set_states(states, value)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        self._require_forward("update_metric()")
        if not self._current.label_shapes:
            # label-less networks (e.g. MakeLoss): plain Module fails here; metrics
            # such as 'loss' only need the outputs.
            eval_metric.update([], self._current.get_outputs())
            return
        self._current.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        self._require_bound("install_monitor()")
        self._monitor = mon
        self._executors.install_monitor(mon)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        """Write ``prefix-symbol.json`` and ``prefix-%04d.params`` with the latest parameters.

        The parameters are always synced from the executors first, whatever shape
        ran last.
        """
        if not self.params_initialized:
            raise RuntimeError("save_checkpoint() needs parameters: call init_params() first")
        if self.binded:
            arg, aux = self._synced_params(force=True)
        else:
            arg, aux = self._pending[0], self._pending[1]
        mx.model.save_checkpoint(prefix, epoch, self._symbol, arg, aux,
                                 remove_amp_cast=remove_amp_cast)
        if save_optimizer_states:
            self.save_optimizer_states("%s-%04d.states" % (prefix, epoch))

    @classmethod
    def load(cls, prefix, epoch, load_optimizer_states=False, data_shapes=None,
             label_shapes=None, for_training=True, optimizer=None,
             optimizer_params=(("learning_rate", 0.01),), kvstore="local", **kwargs):
        """Create a module from a checkpoint written by ``save_checkpoint``.

        ``kwargs`` go to the constructor (context, data_names, accumulate, ...).
        With ``data_shapes`` the module is bound; with ``optimizer`` as well, the
        optimizer is initialized (restoring ``prefix-%04d.states`` when
        ``load_optimizer_states``), so the module is ready to train. Without them,
        the parameters (and optimizer states) are applied by the later bind() and
        init_optimizer() calls.
        """
        symbol, arg_params, aux_params = mx.model.load_checkpoint(prefix, epoch)
        module = cls(symbol, **kwargs)
        module.set_params(arg_params, aux_params)
        if load_optimizer_states:
            states = "%s-%04d.states" % (prefix, epoch)
            if not os.path.exists(states):
                raise FileNotFoundError("optimizer states file %s not found (was the "
                                        "checkpoint saved with save_optimizer_states=True?)"
                                        % states)
            module._preload_opt_states = states
        if data_shapes is not None:
            module.bind(data_shapes, label_shapes, for_training=for_training)
            if optimizer is not None:
                module.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                                      optimizer_params=optimizer_params)
        elif optimizer is not None:
            raise ValueError("load(optimizer=...) also needs data_shapes to bind the module")
        return module
