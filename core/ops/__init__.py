"""The upsampling toolbox, written from scratch so each step can be shown, and checked against torch."""
from core.ops.pooling import max_pool2d_with_indices, max_unpool2d  # noqa: E402,F401
from core.ops.resample import (  # noqa: E402,F401
    bed_of_nails,
    bilinear_kernel,
    bilinear_taps,
    bilinear_upsample,
    nearest_upsample,
)
from core.ops.transposed import (  # noqa: E402,F401
    conv_matrix,
    conv_transpose2d,
    conv_transpose_output_size,
)
