"""Benchmark: PolynomialRidgeCV against scikit-learn's GridSearchCV pipeline.

Run ``python benchmarks/bench_learner.py [--max-n 1000000] [--stream-n 10000000]
[--blas-threads 1]``.

For n in {10^4, 10^5, 10^6} (capped by --max-n), K = 5 inputs, degree 3, cv = 3, the
default alphas, on a random smooth function plus noise, it prints side by side:

- fit time of ours and of ``GridSearchCV(Pipeline([PolynomialFeatures, StandardScaler,
  Ridge]), cv=KFold(3))`` and their ratio (ours: best of 3 runs; scikit-learn: one run);
- tracemalloc peak memory during each fit (separate runs) and the ratio;
- max |prediction difference| / max |prediction| on 10^4 query rows; whether alphas agree;
- ours at the largest n divided by one ``Z.T @ Z`` on the expanded n × 56 design (the floor
  for any method that reads the design), timed alternately;
- a streamed fit of --stream-n rows (chunks generated on the fly, never held): time, peak
  memory, and its prediction difference to an independent two-pass chunked computation of the
  pipeline's refit (exact means first, then the centred standardised Gram, Cholesky solve) at
  the chosen alpha — scikit-learn itself cannot hold that design;
- the peak RSS of streamed fits of 10^6 and --stream-n rows, each in a fresh process: the
  memory of a streamed fit must not grow with n (O(p² + chunk · p)).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from scipy import linalg
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from threadpoolctl import threadpool_limits

from jointeffects.estimate.learners.ridge import PolynomialRidgeCV

K, DEGREE, CV = 5, 3, 3
ALPHAS = np.logspace(-8, -1, 8)
STREAM_CHUNK = 100_000


class SmoothFunction:
    """y = Σ_j a_j sin(b_j x_j + c_j) + Σ_{j<k} d_jk tanh(x_j x_k) + noise, random coefficients."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.a, self.b, self.c = rng.normal(size=K), rng.uniform(0.5, 1.5, K), rng.normal(size=K)
        self.d = np.triu(rng.normal(scale=0.3, size=(K, K)), 1)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        X = rng.normal(size=(n, K))
        y = np.sin(X * self.b + self.c) @ self.a + 0.5 * rng.normal(size=n)
        for j, k in zip(*np.nonzero(self.d), strict=True):
            y += self.d[j, k] * np.tanh(X[:, j] * X[:, k])
        return X, y


def sklearn_search() -> GridSearchCV:
    pipe = Pipeline(
        [("poly", PolynomialFeatures(DEGREE)), ("scale", StandardScaler()), ("ridge", Ridge())]
    )
    return GridSearchCV(pipe, {"ridge__alpha": ALPHAS}, cv=KFold(CV))


def timed(fit: Callable[[], Any], repeat: int = 1) -> tuple[Any, float]:
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fit()
        best = min(best, time.perf_counter() - start)
    return out, best


def peak_mb(fit: Callable[[], Any]) -> float:
    tracemalloc.start()
    fit()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def compare(n: int, fn: SmoothFunction, Xq: np.ndarray) -> None:
    X, y = fn.sample(n, np.random.default_rng(n))
    ours, t_ours = timed(lambda: PolynomialRidgeCV(DEGREE, ALPHAS, CV).fit(X, y), repeat=3)
    ref, t_ref = timed(lambda: sklearn_search().fit(X, y))
    m_ours = peak_mb(lambda: PolynomialRidgeCV(DEGREE, ALPHAS, CV).fit(X, y))
    m_ref = peak_mb(lambda: sklearn_search().fit(X, y))
    same = ours.alpha_ == ref.best_params_["ridge__alpha"]
    diff = rel_diff(ours.predict(Xq), ref.predict(Xq))
    print(
        f"{n:>9,} {t_ours:9.3f} {t_ref:9.2f} {t_ref / t_ours:8.1f}x {m_ours:9.1f} {m_ref:9.1f} "
        f"{m_ref / m_ours:8.1f}x {diff:10.1e} {ours.alpha_:8.0e} {str(same):>5}"
    )


def gram_floor(n: int, fn: SmoothFunction) -> None:
    X, y = fn.sample(n, np.random.default_rng(n))
    Z = PolynomialFeatures(DEGREE).fit_transform(X)
    t_ours, t_gram = np.inf, np.inf
    for _ in range(3):  # alternating, so load from other jobs hits both alike
        t_ours = min(t_ours, timed(lambda: PolynomialRidgeCV(DEGREE, ALPHAS, CV).fit(X, y))[1])
        t_gram = min(t_gram, timed(lambda: Z.T @ Z)[1])
    print(
        f"\nfloor at n={n:,} (best of 3, alternating): our whole fit {t_ours:.3f} s; one Z.T @ Z "
        f"on the {Z.shape[0]:,} x {Z.shape[1]} design {t_gram:.3f} s; ratio "
        f"{t_ours / t_gram:.2f} (target <= 3)"
    )


def stream(n: int, fn: SmoothFunction, seed: int = 99) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Chunks generated on the fly, reproducibly (one stream per chunk)."""
    for i, start in enumerate(range(0, n, STREAM_CHUNK)):
        yield fn.sample(min(STREAM_CHUNK, n - start), np.random.default_rng([seed, i]))


def two_pass_refit(n: int, fn: SmoothFunction, alpha: float, Xq: np.ndarray) -> np.ndarray:
    """The pipeline's refit (scaler + ridge on all rows) in two chunked passes, for reference."""
    poly = PolynomialFeatures(DEGREE, include_bias=False).fit(Xq[:1])
    total, sums, y_sum = 0, 0.0, 0.0
    for X, y in stream(n, fn):
        Z = poly.transform(X)
        total, sums, y_sum = total + len(y), sums + Z.sum(axis=0), y_sum + y.sum()
    mean, y_mean = sums / total, y_sum / total
    gram, cross = 0.0, 0.0
    for X, y in stream(n, fn):
        Z = poly.transform(X) - mean
        gram, cross = gram + Z.T @ Z, cross + Z.T @ (y - y_mean)
    sd = np.sqrt(np.diag(gram) / total)
    beta = linalg.solve(
        gram / np.outer(sd, sd) + alpha * np.eye(len(sd)), cross / sd, assume_a="pos"
    )
    return y_mean + (poly.transform(Xq) - mean) @ (beta / sd)


def streamed(n: int, fn: SmoothFunction, Xq: np.ndarray) -> None:
    model = PolynomialRidgeCV(DEGREE, ALPHAS, CV)
    _, t_fit = timed(lambda: model.fit_chunks(stream(n, fn), n_samples=n))
    peak = peak_mb(lambda: PolynomialRidgeCV(DEGREE, ALPHAS, CV).fit_chunks(stream(n, fn), n))
    diff = rel_diff(model.predict(Xq), two_pass_refit(n, fn, model.alpha_, Xq))
    print(
        f"\nstreamed fit of {n:,} rows in chunks of {STREAM_CHUNK:,} (generated on the fly): "
        f"{t_fit:.1f} s including data generation, tracemalloc peak {peak:.1f} MB "
        f"(data generation included), alpha {model.alpha_:.0e};\n"
        f"  max rel. prediction difference to a two-pass chunked pipeline refit: {diff:.1e}"
    )


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(f"{key}:"))
    return int(line.split()[1]) / 1024


def _streamed_in_fresh_process(
    n: int, seed: int, threads: int | None
) -> tuple[float, float, float]:
    """Run in a spawned process: RSS before the fit (MB), fit seconds, peak RSS (MB)."""
    fn = SmoothFunction(seed)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM restarts at the current resident set
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    with threadpool_limits(limits=threads):
        PolynomialRidgeCV(DEGREE, ALPHAS, CV).fit_chunks(stream(n, fn), n_samples=n)
    seconds = time.perf_counter() - start
    return before, seconds, _status_mb("VmHWM")


def streamed_rss(sizes: list[int], seed: int, threads: int | None) -> None:
    """Peak RSS of streamed fits, each in a fresh process: it must not grow with n."""
    print(
        f"\nstreamed fits, each in a fresh process (Linux VmRSS before the fit, VmHWM peak "
        f"during it: resident memory including the interpreter and libraries; chunks of "
        f"{STREAM_CHUNK:,} rows generated on the fly):"
    )
    print(f"{'n':>11} {'fit s':>7} {'RSS before fit':>15} {'peak RSS':>9} {'growth':>7}")
    spawn = multiprocessing.get_context("spawn")
    for n in sizes:
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            before, seconds, peak = pool.submit(
                _streamed_in_fresh_process, n, seed, threads
            ).result()
        print(f"{n:>11,} {seconds:7.1f} {before:12.0f} MB {peak:6.0f} MB {peak - before:4.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--stream-n", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads for every fit (0: the library default; on a shared machine idle "
        "threads spin and distort times)",
    )
    args = parser.parse_args()
    threads = args.blas_threads or None
    with threadpool_limits(limits=threads):
        run(args, threads)


def run(args: argparse.Namespace, threads: int | None) -> None:
    fn = SmoothFunction(args.seed)
    Xq, _ = fn.sample(10_000, np.random.default_rng(12345))
    sizes = [n for n in (10**4, 10**5, 10**6) if n <= args.max_n]
    print(
        f"K={K}, degree={DEGREE}, cv=KFold({CV}), {len(ALPHAS)} alphas, BLAS threads "
        f"{threads or 'default'}; times in s, memory MB (tracemalloc peak)"
    )
    print(
        f"{'n':>9} {'ours':>9} {'sklearn':>9} {'speedup':>9} {'mem ours':>9} {'mem skl':>9} "
        f"{'mem ratio':>9} {'pred diff':>10} {'alpha':>8} {'same':>5}"
    )
    for n in sizes:
        compare(n, fn, Xq)
    if sizes:
        gram_floor(sizes[-1], fn)
    if args.stream_n:
        streamed(args.stream_n, fn, Xq)
        streamed_rss(sorted({min(10**6, args.stream_n), args.stream_n}), args.seed, threads)


if __name__ == "__main__":
    main()
