"""Explicit thread counts for BLAS and Numba, set together.

On small machines the two pools fight: OpenBLAS threads spin after each product while Numba's
workers want the same cores. Measured here (2 cores, benchmarks/montecarlo_speed.py): a
Monte-Carlo pass ran 10x slower with 2 BLAS + 2 Numba threads than with either pool at 1 on
small layers, and 1.5x slower on the paper's 5x1000 network. The default therefore gives the
BLAS products every core and runs the element-wise Numba kernels on one thread.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import cache

import numba
from threadpoolctl import ThreadpoolController, threadpool_limits


def _count(name: str, value) -> int:
    if value is None:
        return os.cpu_count() or 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return min(value, numba.config.NUMBA_NUM_THREADS) if name == "numba_threads" else value


@contextmanager
def thread_limits(blas_threads: int | None = None, numba_threads: int | None = 1):
    """Run the body with ``blas_threads`` BLAS threads (None: all cores) and ``numba_threads``
    Numba threads (None: all cores); restores both afterwards."""
    blas = _count("blas_threads", blas_threads)
    nb = _count("numba_threads", numba_threads)
    previous = numba.get_num_threads()
    with threadpool_limits(limits=blas, user_api="blas"):
        numba.set_num_threads(nb)
        try:
            yield
        finally:
            numba.set_num_threads(previous)


@cache
def blas_controller() -> ThreadpoolController:
    """The process's thread pools, inspected once: ``blas_controller().limit(limits=1,
    user_api="blas")`` costs microseconds (``threadpool_limits`` inspects again each time)."""
    return ThreadpoolController()
