import mxnet as mx
import numpy as np
import pytest

from modelport.errors import ConversionError
from oracle import convert_symbol, random_params, roundtrip

SHAPES = {"data": (2, 3, 5, 7)}
RUNS = [SHAPES, {"data": (1, 3, 9, 4)}]


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


def _bn(shape=(2, 3, 5, 7), seed=0, gamma=None, var_scale=None, **kw):
    sym = mx.sym.BatchNorm(mx.sym.var("data"), name="bn", **kw)
    args, aux = random_params(sym, {"data": shape}, seed)
    if gamma is not None:
        args["bn_gamma"] = mx.nd.array(np.full(args["bn_gamma"].shape, gamma, np.float32))
    if var_scale is not None:
        aux["bn_moving_var"] = aux["bn_moving_var"] * var_scale
    return sym, args, aux


# -- BatchNorm: fix_gamma (PITFALL 3) -------------------------------------------------
@pytest.mark.parametrize("stored_gamma", [0.0, 0.0003, None], ids=["gamma0", "gamma3e-4", "gamma_random"])
@pytest.mark.parametrize("fix_gamma", ["absent", True, False])
def test_pitfall_3_fix_gamma(fix_gamma, stored_gamma):
    kw = {} if fix_gamma == "absent" else {"fix_gamma": fix_gamma}
    sym, args, aux = _bn(gamma=stored_gamma, **kw)
    assert ('"fix_gamma"' in sym.tojson()) == (fix_gamma != "absent")
    proto = roundtrip(sym, SHAPES, args=args, aux=aux, run_shapes=RUNS)
    if fix_gamma is not False:
        gamma = next(i for i in proto.graph.initializer if i.name == "bn_gamma")
        assert np.all(np.frombuffer(gamma.raw_data, np.float32) == 1.0)


# -- BatchNorm: eps (PITFALL 4) -------------------------------------------------------
@pytest.mark.parametrize("eps", ["absent", 1e-3, 2e-5, 1e-5, 0.25])
def test_pitfall_4_eps(eps):
    kw = {} if eps == "absent" else {"eps": eps}
    # tiny moving variances: an eps off by 1e-3 vs 2e-5 changes the output by far more
    # than the tolerance
    sym, args, aux = _bn(fix_gamma=False, var_scale=1e-3, **kw)
    assert ('"eps"' in sym.tojson()) == (eps != "absent")
    proto = roundtrip(sym, SHAPES, args=args, aux=aux, run_shapes=RUNS)
    (node,) = proto.graph.node
    expected = 1e-3 if eps == "absent" else eps
    assert node.op_type == "BatchNormalization" and node.attribute[0].f == pytest.approx(expected, rel=1e-6)


# -- BatchNorm: axis, use_global_stats, momentum (PITFALL 5) ----------------------------
@pytest.mark.parametrize("kw", [dict(), dict(use_global_stats=True), dict(use_global_stats=False),
                                dict(momentum=0.5), dict(momentum=0.99, use_global_stats=True, cudnn_off=True)])
def test_pitfall_5_training_attributes_do_not_matter(kw):
    sym, args, aux = _bn(fix_gamma=False, **kw)
    proto = roundtrip(sym, SHAPES, args=args, aux=aux, run_shapes=RUNS)
    assert _ops(proto) == ["BatchNormalization"]


# The importer keeps axis 1 of a graph input static (the channels of NCHW), so the
# second run shapes below change batch and the other axes only.
@pytest.mark.parametrize("shape,axis,runs", [
    ((2, 5, 7, 3), -1, [(2, 5, 7, 3), (1, 5, 4, 3)]),
    ((2, 5, 7, 3), 3, [(2, 5, 7, 3), (1, 5, 9, 3)]),
    ((2, 5, 3, 7), 2, [(2, 5, 3, 7), (1, 5, 3, 4)]),
    ((2, 5, 3, 7), -2, [(2, 5, 3, 7)]),
    ((2, 3, 5, 7), -3, [(2, 3, 5, 7), (1, 3, 9, 4)]),
    ((4, 6), -1, [(4, 6), (1, 6)]),
    ((2, 9, 4), -1, [(2, 9, 4), (3, 9, 4)]),
])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_pitfall_5_axis(shape, axis, runs, fix_gamma):
    sym, args, aux = _bn(shape=shape, axis=axis, fix_gamma=fix_gamma, gamma=0.0 if fix_gamma else None)
    proto = roundtrip(sym, {"data": shape}, args=args, aux=aux, run_shapes=[{"data": r} for r in runs])
    normalized = axis % len(shape)
    assert ("BatchNormalization" in _ops(proto)) == (normalized == 1)


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 11), (1, 3, 2, 2, 3)])
@pytest.mark.parametrize("axis", ["absent", 1])
def test_batch_norm_ranks_axis_1(shape, axis):
    kw = {} if axis == "absent" else {"axis": axis}
    sym, args, aux = _bn(shape=shape, fix_gamma=False, **kw)
    roundtrip(sym, {"data": shape}, args=args, aux=aux)


def test_batch_norm_output_mean_var_first_output_converts():
    sym, args, aux = _bn(fix_gamma=False, output_mean_var=True)
    roundtrip(sym[0], SHAPES, args=args, aux=aux, run_shapes=RUNS)


def test_batch_norm_output_mean_var_used_is_refused():
    sym, args, aux = _bn(fix_gamma=False, output_mean_var=True)
    assert len(sym.list_outputs()) == 3
    with pytest.raises(ConversionError, match="output_mean_var"):
        convert_symbol(sym, args, aux, input_shapes=SHAPES)


def test_batch_norm_weight_shape_checked():
    sym, args, aux = _bn(fix_gamma=False)
    aux["bn_moving_mean"] = mx.nd.zeros((4,))
    with pytest.raises(ConversionError, match="bn_moving_mean"):
        convert_symbol(sym, args, aux, input_shapes=SHAPES)


# -- InstanceNorm ---------------------------------------------------------------------
@pytest.mark.parametrize("eps", ["absent", 1e-5, 0.3])
@pytest.mark.parametrize("shapes,runs", [(SHAPES, RUNS), ({"data": (2, 4, 9)}, [{"data": (2, 4, 9)}, {"data": (1, 4, 6)}])],
                         ids=["4d", "3d"])
def test_instance_norm(shapes, runs, eps):
    kw = {} if eps == "absent" else {"eps": eps}
    sym = mx.sym.InstanceNorm(mx.sym.var("data"), name="inorm", **kw)
    assert ('"eps"' in sym.tojson()) == (eps != "absent")
    args, aux = random_params(sym, shapes)
    # small inputs: spatial variances near eps, so a wrong eps shows
    proto = roundtrip(sym, shapes, args=args, aux=aux, run_shapes=runs, input_range=(-0.05, 0.05))
    assert _ops(proto) == ["InstanceNormalization"]


# -- L2Normalization ------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["absent", "instance", "channel", "spatial"])
@pytest.mark.parametrize("eps", ["absent", 0.5])
@pytest.mark.parametrize("shapes,runs", [(SHAPES, RUNS), ({"data": (2, 4, 9)}, [{"data": (2, 4, 9)}, {"data": (1, 4, 6)}])],
                         ids=["4d", "3d"])
def test_l2_normalization(shapes, runs, mode, eps):
    kw = {} if mode == "absent" else {"mode": mode}
    if eps != "absent":
        kw["eps"] = eps
    sym = mx.sym.L2Normalization(mx.sym.var("data"), name="l2", **kw)
    assert ('"mode"' in sym.tojson()) == (mode != "absent")
    roundtrip(sym, shapes, run_shapes=runs, input_range=(-0.5, 0.5))


def test_l2_normalization_2d_instance():
    sym = mx.sym.L2Normalization(mx.sym.var("data"), name="l2")
    roundtrip(sym, {"data": (4, 10)}, run_shapes=[{"data": (4, 10)}, {"data": (1, 10)}])


@pytest.mark.parametrize("mode", ["channel", "spatial"])
def test_l2_normalization_2d_channel_spatial_refused(mode):
    """MXNet itself refuses these modes below rank 3."""
    sym = mx.sym.L2Normalization(mx.sym.var("data"), mode=mode, name="l2")
    with pytest.raises(ConversionError, match="rank >= 3"):
        convert_symbol(sym, {}, {}, input_shapes={"data": (4, 10)})


# -- LRN ------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(nsize=3),                              # alpha, beta, knorm absent: 1e-4, 0.75, 2
    dict(nsize=5, alpha=1e-4, beta=0.75, knorm=2.0),
    dict(nsize=5, alpha=0.5, beta=0.6, knorm=1.0),
    dict(nsize=3, alpha=2.0, beta=1.5, knorm=0.5),
    dict(nsize=1, alpha=0.3),
    dict(nsize=7, alpha=0.9, beta=0.9),
])
def test_lrn(kw):
    sym = mx.sym.LRN(mx.sym.var("data"), name="lrn", **kw)
    text = sym.tojson()
    for key in ("alpha", "beta", "knorm"):
        assert (f'"{key}"' in text) == (key in kw)
    shapes = {"data": (2, 8, 5, 7)}
    proto = roundtrip(sym, shapes, run_shapes=[shapes, {"data": (1, 8, 9, 4)}], input_range=(-3.0, 3.0))
    assert _ops(proto) == ["LRN"]


def test_lrn_even_size_refused():
    sym = mx.sym.LRN(mx.sym.var("data"), nsize=4, name="lrn")
    with pytest.raises(ConversionError, match="nsize=4 is even"):
        convert_symbol(sym, {}, {}, input_shapes={"data": (1, 8, 5, 5)})
