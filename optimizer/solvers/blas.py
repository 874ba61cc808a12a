"""One BLAS thread while a model is solved.

numpy hands dense vector products (``a @ b``, ``np.dot``) to OpenBLAS, whose worker threads
spin after each call.  The strategies run thousands of small vector products between HiGHS
calls, and on a machine with few cores those spinning threads take the cores from HiGHS and
from numpy itself: the 200 x 5,000 ladder network took 75 s with OpenBLAS's default threads
and 27 s with one (2 cores; benchmarks/RESULTS.md).  :func:`one_blas_thread` limits BLAS to
one thread for the duration of a solve and restores the previous limits afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit the BLAS libraries loaded in this process to one thread inside the block."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield
