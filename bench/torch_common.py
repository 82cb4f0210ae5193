"""What the PyTorch peers share: the two forms of a step (eager, torch.compile), the BLAS check,
the JSON line each script prints, and the timing loop."""
import copy
import json
import os
import statistics
import sys
import time

import torch

FORMS = ("eager", "compile")


def form_from_args():
    """`--form eager|compile` (default eager): which PyTorch the step runs on."""
    form = "eager"
    if "--form" in sys.argv:
        form = sys.argv[sys.argv.index("--form") + 1]
    if form not in FORMS:
        sys.exit(f"unknown --form {form!r}; expected one of {FORMS}")
    return form


def training_step(loss_fn, opt, form, before=None):
    """One training step as users write it: zero_grad, loss_fn() (every forward of the step,
    noise draws included), backward, opt.step(). `before` (eager in both forms) runs first, e.g.
    synchronising a frozen copy's weights. With form "compile", loss_fn goes through
    torch.compile (inductor's CPU backend: the forward and, through AOTAutograd, the backward)
    and so does the optimiser step, as PyTorch's tutorial on compiling optimisers does."""
    if form == "compile":
        loss_fn = torch.compile(loss_fn)
        opt_step = torch.compile(opt.step, fullgraph=False)
    else:
        opt_step = opt.step

    def step():
        if before is not None:
            before()
        opt.zero_grad(set_to_none=False)
        loss_fn().backward()
        opt_step()

    return step


def loaded_blas():
    """The BLAS/MKL libraries this process mapped (after PyTorch ran a matmul)."""
    torch.randn(64, 64) @ torch.randn(64, 64)  # load the BLAS before looking for it
    libs = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path.lower() or "mkl" in path.lower():
                libs.add(path)
    return sorted(libs)


def set_up():
    """Thread count from IDEMGEN_BENCH_THREADS (default 2) and the BLAS PyTorch uses; refuses to
    go on with the reference BLAS (about 50x slower than an optimised one: a ratio against it
    would flatter us)."""
    threads = int(os.environ.get("IDEMGEN_BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    blas = loaded_blas()
    config = torch.__config__.show()
    if not (any("openblas" in b or "mkl" in b for b in blas) or "BLAS_INFO=mkl" in config):
        sys.exit(f"{sys.argv[0]}: PyTorch loaded {blas or 'no BLAS'}, not OpenBLAS/MKL; not comparing")
    return threads, blas


def report(name, form, threads, blas, ms):
    """One JSON line per step: its name, form, threads, median ms, and what PyTorch ran on."""
    config = torch.__config__.show()
    if "BLAS_INFO=mkl" in config:  # PyPI's wheels link MKL statically: it is not a mapped file
        blas = ["MKL (linked into libtorch)"]
    capability = next((l.split(":", 1)[1].strip() for l in config.splitlines()
                       if "CPU capability usage" in l), "?")
    print(json.dumps({"name": name, "form": form, "threads": threads, "ms": round(ms, 4),
                      "torch": torch.__version__, "blas": blas, "cpu_capability": capability,
                      "coretype": os.environ.get("OPENBLAS_CORETYPE", "(auto)")}), flush=True)


def time_ms(step, steps, repetitions=5):
    """Median over repetitions of the mean time of `steps` calls, after a warm-up (which, for
    torch.compile, includes the compilation)."""
    for _ in range(max(5, steps // 10)):
        step()
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - start) / steps * 1e3)
    return statistics.median(times)


def synchronised_copy(f):
    """IGN's frozen copy f_copy (θ' in the papers): a copy of f without gradients, and the
    function that copies f's current weights into it, run before every step."""
    f_copy = copy.deepcopy(f).requires_grad_(False)

    def sync():
        with torch.no_grad():
            for p, q in zip(f_copy.parameters(), f.parameters()):
                p.copy_(q)

    return f_copy, sync


def ign_loss(f, f_copy, x, z, dist):
    """IGN: rec + idem + 0.1 tight (SIGN Alg. 4, corrected), as the public implementations
    write it: .detach() for stop-gradient, the frozen copy for θ'."""
    fx = f(x)
    fz = f(z)
    f_z = fz.detach()
    ff_z = f(f_z)
    f_fz = f_copy(fz)
    return dist(fx, x) + dist(fz, f_fz) - 0.1 * dist(ff_z, f_z)
