"""ncnn emitters, one module per op family; importing this package registers them all."""
from modelport.backends.ncnn.ops import (  # noqa: F401
    activation, conv, dense, detection, elementwise, norm, pool, reduce, resize, shape)
