"""What the PyTorch peers share: the BLAS check and the timing loop."""
import statistics
import time


def loaded_blas():
    """The BLAS/MKL libraries this process mapped (after PyTorch ran a matmul)."""
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path.lower() or "mkl" in path.lower():
                libs.add(path)
    return sorted(libs)


def time_ms(step, steps, repetitions=5):
    """Median over repetitions of the mean time of `steps` calls, after a warm-up."""
    for _ in range(max(5, steps // 10)):
        step()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps * 1e3)
    return statistics.median(times)
