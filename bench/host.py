"""What the benchmarks print about the machine they ran on: its GEMM rate and a one-line description."""
from __future__ import annotations

import platform
import statistics
import time

import torch


def gemm_gflops(m: int, k: int, n: int, repeats: int) -> float:
    """float32 GFLOP/s of ``torch.mm`` of (m, k) @ (k, n): 2·m·k·n FLOPs over the median time of a call."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        torch.mm(a, b)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - started)
    return 2 * m * k * n / statistics.median(times) / 1e9


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
