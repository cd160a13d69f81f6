"""The distribution of the number of calls one decision makes, for the interval in a header.

The cost model (docs/model.md §2) gives expected samples per decision; an emitted program
also states an interval for the calls it will make, which needs the variance. Each booster's
sample count is a small absorbing Markov chain or a sum of geometric variables, solved
exactly here. All functions return ``(mean, second moment)`` of the calls of one decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

Moments = tuple[float, float]


def geometric(v: float) -> Moments:
    """Samples until one passes the red flags (each passes w.p. ``v``): one valid sample.

    >>> geometric(1.0)
    (1.0, 1.0)
    """
    mean = 1.0 / v
    return mean, (2.0 - v) / (v * v)


def repeat(moments: Moments, count: int) -> Moments:
    """The sum of ``count`` independent copies."""
    mean, second = moments
    var = second - mean * mean
    total = count * mean
    return total, count * var + total * total


def absorbing(
    start: Hashable,
    step: Callable[[Hashable], list[tuple[float, Hashable]]],
    done: Callable[[Hashable], bool],
    layer: Callable[[Hashable], tuple[int, int]] | None = None,
) -> Moments:
    """Moments of the steps until absorption of a finite chain (each step is one sample).

    ``step(state)`` lists ``(probability, next state)``; the rest of the probability mass stays
    put (a discarded sample). With ``(I − Q) m1 = 1`` and ``(I − Q) m2 = 2·m1 − 1`` (``m2`` is
    E[N²] from each state, since ``Q m1 = m1 − 1``).

    ``layer(state)`` = ``(rank, position)`` describes a chain that only moves to a higher rank
    or, within a rank, by one position (a vote's lead): the ranks are solved from the highest
    down, each a tridiagonal system in O(states). Without it (or when a move breaks that
    shape) the chain is solved by Gaussian elimination, fine for a few hundred states.
    """
    states: list[Hashable] = []
    index: dict[Hashable, int] = {}
    todo = [start]
    while todo:
        s = todo.pop()
        if s in index or done(s):
            continue
        index[s] = len(states)
        states.append(s)
        todo.extend(t for _, t in step(s))
    moves = [step(s) for s in states]
    if layer is not None:
        solved = _layered(states, moves, index, layer)
        if solved is not None:
            m1, m2 = solved
            return m1[start], m2[start]
    n = len(states)
    matrix = [[0.0] * n for _ in range(n)]
    for i, out in enumerate(moves):
        matrix[i][i] = 1.0
        stay = 1.0
        for p, t in out:
            stay -= p
            if t in index:
                matrix[i][index[t]] -= p
        matrix[i][i] -= stay
    m1 = _solve(matrix, [1.0] * n)
    m2 = _solve(matrix, [2.0 * m - 1.0 for m in m1])
    i0 = index[start]
    return m1[i0], m2[i0]


def _layered(
    states: list[Hashable],
    moves: list[list[tuple[float, Hashable]]],
    index: dict[Hashable, int],
    layer: Callable[[Hashable], tuple[int, int]],
) -> tuple[dict[Hashable, float], dict[Hashable, float]] | None:
    """Both moments by ranks, highest first, each rank's system tridiagonal (Thomas's
    algorithm: the systems are diagonally dominant, so no pivoting is needed). None when a
    move goes to a lower rank or jumps more than one position within its rank."""
    ranks: dict[int, dict[int, int]] = {}
    for i, s in enumerate(states):
        rank, pos = layer(s)
        ranks.setdefault(rank, {})[pos] = i
    m1: dict[Hashable, float] = {}
    m2: dict[Hashable, float] = {}
    for rank in sorted(ranks, reverse=True):
        at = ranks[rank]
        order = sorted(at)
        if order[-1] - order[0] + 1 != len(order):
            return None  # positions with holes: not a simple lead chain
        size = len(order)
        diag = [1.0] * size
        lower = [0.0] * size  # coefficient of position j - 1
        upper = [0.0] * size  # coefficient of position j + 1
        known1 = [0.0] * size
        known2_q = [0.0] * size  # filled after m1 of this rank is known
        outside: list[list[tuple[float, Hashable]]] = [[] for _ in range(size)]
        for j, pos in enumerate(order):
            stay = 1.0
            for p, t in moves[at[pos]]:
                stay -= p
                if t not in index:
                    continue  # absorbed
                t_rank, t_pos = layer(t)
                if t_rank == rank:
                    if t_pos == pos:
                        diag[j] -= p
                    elif t_pos == pos - 1:
                        lower[j] -= p
                    elif t_pos == pos + 1:
                        upper[j] -= p
                    else:
                        return None
                elif t_rank > rank:
                    outside[j].append((p, t))
                else:
                    return None
            diag[j] -= stay
            known1[j] = math.fsum(p * m1[t] for p, t in outside[j])
        x1 = _thomas(lower, diag, upper, [1.0 + k for k in known1])
        for j in range(size):
            known2_q[j] = math.fsum(p * m2[t] for p, t in outside[j])
        x2 = _thomas(lower, diag, upper, [2.0 * x1[j] - 1.0 + known2_q[j] for j in range(size)])
        for j, pos in enumerate(order):
            s = states[at[pos]]
            m1[s], m2[s] = x1[j], x2[j]
    return m1, m2


def _thomas(lower: list[float], diag: list[float], upper: list[float], rhs: list[float]):
    """Solve the tridiagonal system ``lower[j]·x[j−1] + diag[j]·x[j] + upper[j]·x[j+1] =
    rhs[j]``."""
    n = len(diag)
    c = [0.0] * n
    d = [0.0] * n
    c[0] = upper[0] / diag[0]
    d[0] = rhs[0] / diag[0]
    for j in range(1, n):
        den = diag[j] - lower[j] * c[j - 1]
        c[j] = upper[j] / den
        d[j] = (rhs[j] - lower[j] * d[j - 1]) / den
    x = [0.0] * n
    x[-1] = d[-1]
    for j in range(n - 2, -1, -1):
        x[j] = d[j] - c[j] * x[j + 1]
    return x


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    n = len(rhs)
    a = [[*row, rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col and a[r][col] != 0.0:
                f = a[r][col] / a[col][col]
                for c in range(col, n + 1):
                    a[r][c] -= f * a[col][c]
    return [a[i][n] / a[i][i] for i in range(n)]


def ahead_by(k: int, a: float, b: float, v: float) -> Moments:
    """First to lead by ``k`` when every wrong sample is the same rival answer (w.p. ``b``).

    >>> m, _ = ahead_by(1, 0.9, 0.1, 1.0)
    >>> round(m, 12)
    1.0
    """
    up, down = a * v, b * v
    return absorbing(
        0, lambda d: [(up, d + 1), (down, d - 1)], lambda d: abs(d) >= k, lambda d: (0, d)
    )


def ahead_by_mixed(k: int, a: float, b: float, v: float) -> Moments:
    """First to lead by ``k`` when a wrong sample is the rival answer w.p. ``b`` and a new,
    never repeated answer w.p. ``1 - a - b`` (so at most one vote each).

    The state is ``(d, r, c, o)``: right minus rival votes, whether the rival and the right
    answer have any vote, and whether some other answer has one; that decides every lead.
    """
    right, rival, other = a * v, b * v, max(0.0, 1.0 - a - b) * v
    State = tuple[int, int, int, int]

    def step(s: State) -> list[tuple[float, State]]:
        d, r, c, o = s
        return [(right, (d + 1, r, 1, o)), (rival, (d - 1, 1, c, o)), (other, (d, r, c, 1))]

    def done(s: State) -> bool:
        d, r, c, o = s
        lead_right = d if r else d - o
        lead_rival = -d if c else -d - o
        return lead_right >= k or lead_rival >= k or (k == 1 and o == 1 and not (r or c))

    def layer(s: State) -> tuple[int, int]:
        d, r, c, o = s
        return (r + c + o) * 8 + r * 4 + c * 2 + o, d  # the flags only ever rise

    return absorbing((0, 0, 0, 0), step, done, layer)


def majority(votes: int, v: float) -> Moments:
    """``votes`` valid samples."""
    return repeat(geometric(v), votes)


def retry(a: float, tries: float, v: float, per_try: Moments | None = None) -> Moments:
    """Tries until one is accepted (w.p. ``a`` each) or ``tries`` are used; a try costs
    ``per_try`` calls (default: one valid sample)."""
    per = per_try or geometric(v)
    if a <= 0.0:
        t1 = t2 = float(tries)
    elif math.isinf(tries) or tries > 100_000:
        t1, t2 = 1.0 / a, (2.0 - a) / a / a  # a*a would underflow to 0 for a tiny a
    else:
        r = int(tries)
        q = 1.0 - a
        # P(T >= t) = q^(t-1) for t <= r: E[T] = sum P(T>=t), E[T^2] = sum (2t-1) P(T>=t)
        t1 = sum(q ** (t - 1) for t in range(1, r + 1))
        t2 = sum((2 * t - 1) * q ** (t - 1) for t in range(1, r + 1))
    mean, second = per
    var = second - mean * mean
    total = t1 * mean
    return total, t1 * var + t2 * mean * mean


def mixture(parts: list[tuple[float, Moments]]) -> Moments:
    """Weighted moments of a mixture of input kinds."""
    return sum(w * m[0] for w, m in parts), sum(w * m[1] for w, m in parts)


def interval(mean: float, var: float, z: float = 3.29) -> tuple[int, int | None]:
    """A normal-approximation interval (z = 3.29: 99.9 %), rounded outward to whole calls;
    unbounded above (None) when the variance is not finite (a decision whose acceptance is
    so unlikely that its tries' spread overflows)."""
    if not math.isfinite(var):
        return 0, None
    sd = math.sqrt(max(var, 0.0))
    return max(0, math.floor(mean - z * sd)), math.ceil(mean + z * sd)
