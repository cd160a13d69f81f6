"""Expected rounds of batched first-to-ahead-by-k voting: a small Markov chain, solved directly.

The emitted programs draw ``k − |L|`` samples at once while the right answer leads by L (the
most that cannot overshoot either boundary), so the lead jumps by up to ``k − |L|`` per round.
Per sample it moves +1 with probability ``a·v``, −1 with ``b·v`` and stays otherwise. The
expected number of rounds ``E_L`` from lead L solves ``E_L = 1 + Σ_{L'} P(L → L')·E_{L'}``
with ``E_{±k} = 0``.

Two things keep this exact and fast on any machine:

* **The jump chain.** Each equation is divided by ``1 − P(L → L)``, which is computed as the sum
  of the probabilities of *leaving* L (never as ``1 − P(L → L)``, which cancels to 0 when the
  chain barely moves). The system ``E_L = h_L + Σ_{L' ≠ L} J(L → L')·E_{L'}`` is then well
  conditioned however small ``a·v`` and ``b·v`` are: success probabilities of 1e-300 give
  1e300 rounds, not a singular matrix.
* **Elimination without a dense solver.** ``I − J`` is an M-matrix whose rows are diagonally
  dominant (``Σ J ≤ 1``), so Gaussian elimination needs no pivoting and is stable. Small
  systems are eliminated in plain Python, larger ones row by row with numpy's elementwise
  operations; neither goes through multi-threaded BLAS, whose thread start-up dominates tiny
  solves and varies by orders of magnitude with the machine's load.
"""

from __future__ import annotations

import math
from functools import lru_cache

# Systems up to this many states are eliminated in pure Python (about k <= 16); up to
# ``DIRECT_STATES`` by row operations in numpy; larger ones are iterated (below).
PURE_PYTHON_STATES = 33
DIRECT_STATES = 129


def _step_powers(down: float, stay: float, up: float, k: int) -> list[list[float]]:
    """``dists[n][d + n]`` = P(ups − downs = d) after n samples, for n = 0..k."""
    dists = [[1.0]]
    for _ in range(k):
        prev = dists[-1]
        nxt = [0.0] * (len(prev) + 2)
        for i, p in enumerate(prev):
            if p:
                nxt[i] += p * down
                nxt[i + 1] += p * stay
                nxt[i + 2] += p * up
        dists.append(nxt)
    return dists


def _system_numpy(a: float, b: float, k: int, v: float):
    """``_system`` with numpy arrays (no BLAS: convolutions and slices only)."""
    import numpy as np

    up, down = a * v, b * v
    step = np.array([down, max(0.0, 1.0 - up - down), up])
    dists = [np.ones(1)]
    for _ in range(k):
        dists.append(np.convolve(dists[-1], step))
    size = 2 * k - 1
    jump = np.zeros((size, size))
    rhs = np.zeros(size)
    for i in range(size):
        lead = i - (k - 1)
        n = k - abs(lead)
        dist = dists[n]
        leave = float(dist[:n].sum() + dist[n + 1 :].sum())
        if leave <= 0.0:
            return None
        lo, hi = lead - n, lead + n  # targets of dist[0] and dist[-1]
        first, last = max(lo, -(k - 1)), min(hi, k - 1)
        if first <= last:
            jump[i, first + k - 1 : last + k] = dist[first - lo : last - lo + 1] / leave
        jump[i, i] = 0.0
        rhs[i] = 1.0 / leave
    return jump, rhs


def _system(a: float, b: float, k: int, v: float) -> tuple[list[list[float]], list[float]] | None:
    """The jump chain's matrix ``I − J`` and right-hand side ``h`` (None if it never moves)."""
    up, down = a * v, b * v
    stay = max(0.0, 1.0 - up - down)
    dists = _step_powers(down, stay, up, k)
    size = 2 * k - 1  # states L = −(k−1) .. k−1, index L + k − 1
    matrix = [[0.0] * size for _ in range(size)]
    rhs = [0.0] * size
    for i in range(size):
        lead = i - (k - 1)
        n = k - abs(lead)
        dist = dists[n]  # index d + n, targets lead + d
        leave = math.fsum(p for j, p in enumerate(dist) if j != n)
        if leave <= 0.0:
            return None
        row = matrix[i]
        row[i] = 1.0
        for j, p in enumerate(dist):
            target = lead + j - n
            if j != n and -k < target < k and p:
                row[target + k - 1] -= p / leave
        rhs[i] = 1.0 / leave
    return matrix, rhs


def _solve_python(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    n = len(rhs)
    for col in range(n):
        pivot = matrix[col][col]
        prow = matrix[col]
        for r in range(col + 1, n):
            f = matrix[r][col]
            if f:
                f /= pivot
                row = matrix[r]
                for c in range(col, n):
                    row[c] -= f * prow[c]
                rhs[r] -= f * rhs[col]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        acc = rhs[r] - math.fsum(matrix[r][c] * out[c] for c in range(r + 1, n))
        out[r] = acc / matrix[r][r]
    return out


def _solve_numpy(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    import numpy as np

    m = np.array(matrix, dtype=float)
    h = np.array(rhs, dtype=float)
    n = len(rhs)
    for col in range(n - 1):
        f = m[col + 1 :, col] / m[col, col]
        m[col + 1 :, col:] -= f[:, None] * m[col, col:][None, :]
        h[col + 1 :] -= f * h[col]
    out = np.zeros(n)
    for r in range(n - 1, -1, -1):
        out[r] = (h[r] - float(np.sum(m[r, r + 1 :] * out[r + 1 :]))) / m[r, r]
    return [float(x) for x in out]


def _solve_iterative(jump, h) -> list[float]:
    """``E = h + J·E`` by iteration from 0: each step adds the next round's expected count, so
    the iterates rise to the solution, the changes shrinking by the chain's contraction q
    (estimated from two successive changes); it stops when the error left,
    ``change·q/(1 − q)``, is below 1e-15 of the value, and falls back to elimination when the
    chain contracts too slowly (a vote that needs many rounds). Large k converges in a few
    rounds when the right answer leads, which is where a large k is ever chosen."""
    import numpy as np

    e = h.copy()
    prev = None
    for _ in range(500):
        nxt = h + np.einsum("ij,j->i", jump, e)  # einsum: no BLAS
        change = float(np.max(np.abs(nxt - e)))
        e = nxt
        if change == 0.0:
            break
        if prev is not None and prev > 0:
            q = change / prev
            if q < 0.9 and change * q / (1.0 - q) <= 1e-15 * float(np.max(e)):
                break
        prev = change
    else:
        matrix = (np.eye(len(h)) - jump).tolist()
        return _solve_numpy(matrix, [float(v) for v in h])
    return [float(v) for v in e]


@lru_cache(maxsize=65536)
def ahead_by_rounds(a: float, b: float, k: int, v: float = 1.0) -> float | None:
    """Expected rounds of batched ahead-by-k voting; ``None`` when ``a <= b`` or ``k < 1``.

    ``inf`` when the samples almost never count (``a·v`` underflows).

    >>> ahead_by_rounds(0.9, 0.1, 1)
    1.0
    >>> round(ahead_by_rounds(0.75, 0.25, 2), 6)
    1.6
    """
    if not a > b or k < 1 or not v > 0.0:
        return None
    if 2 * k - 1 > DIRECT_STATES:
        big = _system_numpy(a, b, k, v)
        if big is None:
            return math.inf
        value = _solve_iterative(*big)[k - 1]
        return value if math.isfinite(value) and value > 0 else math.inf
    system = _system(a, b, k, v)
    if system is None:
        return math.inf
    matrix, rhs = system
    solve = _solve_python if len(rhs) <= PURE_PYTHON_STATES else _solve_numpy
    value = solve(matrix, rhs)[k - 1]
    return value if math.isfinite(value) and value > 0 else math.inf
