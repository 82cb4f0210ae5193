#!/usr/bin/env python3
"""How well x = y + σ_i ε tells its own noise level: the posterior P(i | x) over the levels of a
Karras grid (uniform prior, as SIGN's flow term draws them), for the exact noised marginals
p_σ = data * N(0, σ² I) of a Gaussian-mixture dataset. A one-step f without a σ input (SIGN) must
give one output at x for every level that could have produced it, so where P(true level | x) is
low the flow term's targets f(x_ts) from different levels conflict. Pure Python, seconds.
  examples/sign_level_posterior.py            grid-25 (d = 2) and LMM's two-Gaussian toy (d = 128)
"""
import math, random


def karras(n, sigma_max, sigma_min=0.002, rho=7.0):
    a, b = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return [(a + i / (n - 1) * (b - a)) ** rho for i in range(n)]


def log_density(x, means, stds, sigma):
    """log Σ_k (1/K) Π_j N(x_j; μ_kj, s_kj² + σ²)"""
    terms = []
    for mu, s in zip(means, stds):
        t = 0.0
        for xj, mj, sj in zip(x, mu, s):
            v = sj * sj + sigma * sigma
            t += -0.5 * math.log(2 * math.pi * v) - (xj - mj) ** 2 / (2 * v)
        terms.append(t)
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms) / len(terms))


def measure(means, stds, sigma_max, samples_per_level, rng):
    grid = karras(18, sigma_max)
    p_true, hits, p_top = 0.0, 0, 0.0
    for i, sigma in enumerate(grid):
        for _ in range(samples_per_level):
            k = rng.randrange(len(means))
            x = [m + s * rng.gauss(0, 1) + sigma * rng.gauss(0, 1) for m, s in zip(means[k], stds[k])]
            logs = [log_density(x, means, stds, s) for s in grid]
            top = max(logs)
            post = [math.exp(l - top) for l in logs]
            total = sum(post)
            p_true += post[i] / total
            hits += max(range(len(grid)), key=lambda j: post[j]) == i
            if i == 0:
                p_top += post[0] / total
    n = len(grid) * samples_per_level
    return p_true / n, hits / n, p_top / samples_per_level


def main():
    rng = random.Random(0)
    grid25 = ([[2.0 * i, 2.0 * j] for i in range(-2, 3) for j in range(-2, 3)], [[0.05, 0.05]] * 25)
    d = 128  # LMM Table 1's toy: ½N(±(1, 1, 0…), diag(0.1², 0.1², 1…))
    toy128 = ([[1.0, 1.0] + [0.0] * (d - 2), [-1.0, -1.0] + [0.0] * (d - 2)], [[0.1, 0.1] + [1.0] * (d - 2)] * 2)
    print("dataset, d, sigma_max: mean P(true level | x), MAP level correct, and P(sigma_max | x) for x ~ p_sigma_max "
          "(the generation level; 18-point Karras grid)")
    for name, (means, stds), per_level in (("grid25", grid25, 400), ("toy128", toy128, 60)):
        for sigma_max in (5, 10, 80):
            p, acc, top = measure(means, stds, sigma_max, per_level, rng)
            print(f"{name}, d = {len(means[0])}, sigma_max {sigma_max}: {p:.3f}, {acc:.3f}, {top:.3f}")


if __name__ == "__main__":
    main()
