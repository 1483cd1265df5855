"""Spline clustering of strain histories: one MD run per group of similar quadrature points.

Every quadrature point (qp) carries a total-strain history eps(t_0 .. t_{N-1}) of the six
Voigt components (``xx yy zz yz xz xy``, engineering shear, see :mod:`scema.voigt`). Only
the *path* matters, not the rate, so time is replaced by the normalised step index
``u = n / (N - 1)``. Each component is interpolated by a cubic spline in ``u``
(:class:`scipy.interpolate.CubicSpline`, not-a-knot ends; two steps give the straight line,
three steps the parabola, a single step a constant) and resampled at ``n_points`` equally
spaced ``u`` in ``[0, 1]``.

Signature layout (``spline_signatures``): row ``q`` is component-major,

    signature[q, c * n_points + k] = spline_c(u_k),   c = 0..5 (xx yy zz yz xz xy), k = 0..n_points-1

Distance between two qps: ``"l1"`` (default, sum over points and components of
``|e1 - e2|``) or ``"l2"`` (Euclidean norm of the difference). Two qps are *similar* when
their distance is strictly below ``alpha`` and they belong to the same material
(``alpha = 0`` therefore never merges anything, not even identical signatures).

Greedy reduction (per material): in the graph of similar pairs, repeatedly take the node
with the most neighbours still in the graph (ties: lowest qp index), make it a
representative, map it and its remaining neighbours to it and remove them all; isolated
nodes represent themselves.

Implementation (exact, per material, O(N) memory where neighbours are many): the signatures are
mapped linearly to a few coordinates whose distance is a lower bound of the signature distance
(l1: sums of 2 or 3 consecutive samples, 24 coordinates for 60 features; l2: the 8 leading
principal axes; both count within a few % of the true neighbours on strain signatures, see
:func:`_lower_bound_embedding`), so a radius search on a :class:`sklearn.neighbors.BallTree`
over the embedding (radius enlarged beyond any rounding) returns a superset of the neighbours,
the *candidates*; the exact decision is then ``d < alpha`` (strict) on the signatures.

The greedy needs, at every choice, the node of largest current degree, not every degree. Each
active node carries a value that is either its exact current degree or an upper bound of it
(its number of active candidates), in a max-heap keyed ``(-value, index)``:

* start: every node's candidate count, from one dense block of embedding distances per tree
  leaf against the ball around the leaf that holds all its points' candidates, each pair of
  two such leaves evaluated once (:func:`_candidate_counts`; when everything is similar the
  leaf's count is read from two tree counts instead). Where a sample of points has few
  candidates (sparse fields, <= ``_GRAPH_DEGREE`` per point) every exact neighbour list is
  stored instead (:func:`_neighbour_graph`, the same leaf blocks): every value starts exact and
  a choice subtracts the lists of the leaving nodes, with no search per choice;
* a popped entry whose value is an upper bound is replaced by the exact degree (candidates
  decided exactly, for a geometrically growing batch of the top entries);
* a popped entry whose value is exact is the plain greedy choice: every other node's degree is
  <= its stored value <= this one, equality only for a larger index. It and its active
  neighbours leave (:func:`_choose`); only nodes within 2 alpha of it can lose a neighbour, and
  each of those loses exactly its neighbours (exact value) or its candidates (upper bound)
  among the leaving nodes, so every value stays what it was;
* nodes whose value reaches 0 leave the heap and represent themselves.

With tight bounds few nodes ever need their exact degree (a few hundred per 10^5 qps in the
benchmark's middle regime): they leave as members of a cluster before their bound reaches the
top. Cost: one pass of embedding distances over the candidate pairs, the exact distances of the
few exact degrees, and per choice the decrements around it (benchmark, CPU s at 10^5 qps:
sparse l1 2.3 with the lists, middle l1 5.2, every l2 regime <= 4.3).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.distance import cdist
from sklearn.neighbors import BallTree
from threadpoolctl import threadpool_limits

N_COMPONENTS = 6
METRICS: dict[str, str] = {"l1": "manhattan", "l2": "euclidean"}  # our name -> scikit-learn metric
_CDIST = {"l1": "cityblock", "l2": "euclidean"}  # ... -> SciPy's cdist metric
EMBEDDING_DIM = 24  # coordinates of the l1 lower-bound embedding (sums of consecutive features)
_PCA_DIM = 8  # principal axes of the l2 lower-bound embedding
_BATCH_PAIRS = 1 << 12  # candidate pairs of the first batch of exact degrees after a choice (doubling, up to:)
_MAX_BATCH_PAIRS = 1 << 20
_LEAF_SIZE = 16  # BallTree leaf size: small leaves, tight candidate blocks
_DENSE_LIMIT = 1 << 15  # candidates of a leaf up to which its points are counted one by one
_INNER_CHECK = 4096  # candidates of a leaf above which it is first checked for all-similar
_LEAF_CHUNK = 256  # leaves per candidate-list search (bounds their memory)
_SMALL_BLOCK = 1 << 16  # pairs up to which a decrement compares all pairs instead of building a tree
_SMALL_LEAF = 6  # leaf size of the trees over the points leaving in one choice (default 40: 1.5x slower counts)
_GRAPH_DEGREE = 64  # mean candidates per point up to which every exact neighbour list is built once
_GRAPH_PAIRS = 1 << 24  # ... and estimated candidate pairs up to which (memory)
_DENSITY_SAMPLE = 256  # points whose candidates are counted to estimate the candidate pairs
_LIST_ENTRIES = 1 << 24  # candidate list entries of all leaves up to which they are searched before counting

__all__ = [
    "METRICS",
    "Clusters",
    "cluster",
    "cluster_histories",
    "resampling_matrix",
    "signature_distance",
    "spline_signatures",
]


@dataclass
class Clusters:
    """Result of :func:`cluster`, one entry per qp (same order as the input)."""

    representative: np.ndarray  # (n_qp,) int64: qp index of the representative (itself for a representative)
    distance_to_representative: np.ndarray  # (n_qp,) float: signature distance to the representative
    cluster_size: np.ndarray  # (n_qp,) int64: number of qps in the qp's cluster

    @property
    def representatives(self) -> np.ndarray:
        """Sorted qp indices of the representatives."""
        return np.flatnonzero(self.representative == np.arange(self.representative.size))

    @property
    def n_clusters(self) -> int:
        return int(np.count_nonzero(self.representative == np.arange(self.representative.size)))


def resampling_matrix(n_times: int, n_points: int = 10) -> np.ndarray:
    """(n_points, n_times) linear map from the values at ``u = n/(N-1)`` to the spline at ``n_points`` equally spaced u.

    The not-a-knot cubic spline interpolant is linear in the data, so the spline of any history
    resampled at the output points is ``W @ values``.
    """
    if n_times < 1:
        raise ValueError("a strain history needs at least one time step")
    if n_points < 1:
        raise ValueError(f"n_points must be >= 1, got {n_points}")
    if n_times == 1:
        return np.ones((n_points, 1))
    u = np.linspace(0.0, 1.0, n_times)
    samples = np.linspace(0.0, 1.0, n_points)
    return CubicSpline(u, np.eye(n_times), axis=0)(samples)


def spline_signatures(history: np.ndarray, n_points: int = 10) -> np.ndarray:
    """Strain histories (n_times, n_qp, 6) -> signatures (n_qp, 6 * n_points), component-major."""
    history = np.asarray(history, dtype=float)
    if history.ndim != 3 or history.shape[2] != N_COMPONENTS:
        raise ValueError(f"history must be shaped (n_times, n_qp, 6), got {history.shape}")
    if not np.all(np.isfinite(history)):
        raise ValueError("strain history contains non-finite values")
    n_times, n_qp, _ = history.shape
    weights = resampling_matrix(n_times, int(n_points))
    # (n_qp, 6, n_points): out[q, c, k] = sum_t W[k, t] history[t, q, c]
    out = np.einsum("kt,tqc->qck", weights, history, optimize=True)
    return np.ascontiguousarray(out.reshape(n_qp, N_COMPONENTS * weights.shape[0]))


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"unknown clustering metric '{metric}' (known: {', '.join(METRICS)})")
    return METRICS[metric]


def signature_distance(a: np.ndarray, b: np.ndarray, metric: str = "l1") -> np.ndarray:
    """Row-wise distance between signature arrays ``a`` and ``b`` (broadcasting over leading axes)."""
    _check_metric(metric)
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if metric == "l1":
        return np.abs(diff).sum(axis=-1)
    return np.sqrt(np.einsum("...i,...i->...", diff, diff))


def _lower_bound_embedding(points: np.ndarray, metric: str, dim: int = EMBEDDING_DIM) -> np.ndarray:
    """Linear map to <= ``dim`` (l1) or ``_PCA_DIM`` (l2) coordinates whose distance never exceeds the signature distance.

    ``l1``: the features are split into ``dim`` contiguous groups, within each component when
    ``dim`` is a multiple of 6 (with the component-major layout of :func:`spline_signatures`, 10
    points and ``dim = 24``: 3, 3, 2 and 2 consecutive points of each component), and each group
    is summed; ``|sum_g d| <= sum_g |d|``. Coarser groups are cheaper but looser (benchmark
    middle regime, candidates per true neighbour: 6 groups 1.25, 12 1.18, 18 1.07, 24 1.036,
    30 1.032), and a loose bound makes most nodes need their exact degree.
    ``l2``: the leading principal axes of the signatures (an orthonormal projection,
    ``|P d| <= |d|``); strain signatures vary along few directions (1.005 candidates per
    neighbour). Hence a radius search in the embedding returns a superset of the true
    neighbours.
    """
    n, n_features = points.shape
    if metric == "l2":
        if n_features <= _PCA_DIM:
            return points.copy()
        sample = points[:: max(1, n // 2048)]
        _, _, vt = np.linalg.svd(sample - sample.mean(axis=0), full_matrices=False)
        return (points - sample.mean(axis=0)) @ vt[:_PCA_DIM].T
    if n_features % N_COMPONENTS == 0 and dim % N_COMPONENTS == 0 and dim <= n_features:  # within each component
        per = n_features // N_COMPONENTS
        groups = [g + c * per for c in range(N_COMPONENTS) for g in np.array_split(np.arange(per), dim // N_COMPONENTS)]
    else:
        groups = np.array_split(np.arange(n_features), min(dim, n_features))
    out = np.empty((n, len(groups)))
    for j, g in enumerate(groups):
        out[:, j] = points[:, g[0] : g[-1] + 1].sum(axis=1)
    return out


class _Search:
    """Candidate neighbours from a lower-bound embedding and exact ``distance < alpha`` decisions.

    A radius search of ``radius`` (``alpha`` enlarged by far more than any rounding) in the
    embedding returns a superset of the true neighbours; the exact decision is made on the
    signatures with SciPy's ``cdist`` (the definition used by the tests and SCEMa's all-pairs
    path), one candidate row per node.
    """

    def __init__(self, points: np.ndarray, alpha: float, metric: str):
        self.points = points
        self.alpha = alpha
        self.metric = metric
        self.embedded = _lower_bound_embedding(points, metric)
        scale = float(np.max(np.abs(points))) if points.size else 0.0
        slack = 64.0 * points.shape[1] * np.finfo(float).eps * scale
        self.radius = alpha * (1.0 + 1e-9) + slack
        self.tree = BallTree(self.embedded, leaf_size=_LEAF_SIZE, metric=METRICS[metric])
        self.graph: tuple[np.ndarray, np.ndarray] | None = None  # exact neighbour lists (CSR), sparse fields
        self.pairs = float("inf")  # estimated candidate pairs

    def near(self, tree: BallTree, nodes: np.ndarray, radius: float, distance: bool = True):
        """(row in ``nodes``, position in ``tree``'s data, embedding distance or None) of every pair within ``radius``."""
        found = tree.query_radius(self.embedded[nodes], r=radius, return_distance=distance)
        found, dist = found if distance else (found, None)
        lengths = np.fromiter((x.size for x in found), dtype=np.intp, count=len(found))
        rows = np.repeat(np.arange(len(found)), lengths)
        return rows, np.concatenate(found).astype(np.intp), np.concatenate(dist) if distance else None

    def similar(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact ``distance(points[a_i], points[b_j]) < alpha`` as an (a, b) matrix (SciPy's ``cdist``: the reference)."""
        return cdist(self.points[a], self.points[b], _CDIST[self.metric]) < self.alpha

    def degrees(self, nodes: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Exact number of active neighbours of each of ``nodes`` (active themselves)."""
        out = np.empty(nodes.size, dtype=np.int64)
        for k, found in enumerate(self.tree.query_radius(self.embedded[nodes], r=self.radius)):
            found = found[active[found]]  # the node itself included: distance 0 < alpha
            out[k] = np.count_nonzero(self.similar(nodes[k : k + 1], found)) - 1
        return out

    def candidate_counts(self, nodes: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Points of ``others`` within the embedding radius of each of ``nodes``."""
        if nodes.size * others.size <= _SMALL_BLOCK:
            d = cdist(self.embedded[nodes], self.embedded[others], _CDIST[self.metric])
            return np.count_nonzero(d <= self.radius, axis=1)
        tree = BallTree(self.embedded[others], leaf_size=_SMALL_LEAF, metric=METRICS[self.metric])
        return tree.query_radius(self.embedded[nodes], r=self.radius, count_only=True)


def _candidate_counts(search: _Search) -> np.ndarray:
    """Upper bounds of every point's number of candidates (embedding distance within the radius, itself included).

    Leaf by leaf of the tree (centre ``c``, radius ``rho``): every candidate of a leaf point lies
    within ``radius + rho`` of ``c``, and every point within ``radius - rho`` of ``c`` is one;
    when the two balls hold the same number of points (everything similar) that number is every
    leaf point's count, from two counts that add whole tree nodes. Otherwise one dense block of
    embedding distances between the leaf and the outer ball counts them (above ``_DENSE_LIMIT``
    points in the ball the outer count stands). The dense block's threshold is enlarged beyond
    its rounding: every count is of a superset of the ``distance <= radius`` set that later
    decrements subtract, so every value stays an upper bound of the active candidates.
    """
    _, idx, node_data, bounds = search.tree.get_arrays()
    leaves = np.flatnonzero(node_data["is_leaf"])
    centre = bounds[0][leaves]
    spread = node_data["radius"][leaves] * (1.0 + 1e-7)
    r = search.radius * (1.0 + 1e-7)
    lists = None  # every leaf's candidate list at once when they are known to be short, else counts first
    if search.pairs * 4.0 / max(1.0, idx.size / leaves.size) <= _LIST_ENTRIES:
        lists = search.tree.query_radius(centre, r=r + spread)
        outer = np.fromiter((x.size for x in lists), dtype=np.int64, count=leaves.size)
    else:
        outer = search.tree.query_radius(centre, r=r + spread, count_only=True)
    inner = np.full(leaves.size, -1, dtype=np.int64)
    big = np.flatnonzero((outer > _INNER_CHECK) & (spread < search.radius))  # where a dense block would be costly
    if big.size:
        inner[big] = search.tree.query_radius(centre[big], r=search.radius - spread[big], count_only=True)
    dense = np.flatnonzero((outer != inner) & (outer <= _DENSE_LIMIT))
    emb = search.embedded
    counts = np.empty(emb.shape[0], dtype=np.int64)
    starts, ends = node_data["idx_start"][leaves], node_data["idx_end"][leaves]
    for k in range(leaves.size):
        counts[idx[starts[k] : ends[k]]] = outer[k]
    # each pair of two dense leaves is evaluated once, by the leaf that comes first in the tree's order
    owner = np.full(emb.shape[0], -1, dtype=np.int64)  # per point: tree position of its leaf's start if dense
    for k in dense.tolist():
        owner[idx[starts[k] : ends[k]]] = starts[k]
    counts[owner >= 0] = 0
    if search.metric == "l2":
        sq = np.einsum("ij,ij->i", emb, emb)
        margin = 1e-12 * float(sq.max())
    with threadpool_limits(limits=1, user_api="blas"):  # small products: threads only contend
        for first in range(0, dense.size, _LEAF_CHUNK):  # candidate lists of a few leaves at a time
            chunk = dense[first : first + _LEAF_CHUNK]
            found = lists[chunk] if lists is not None else search.tree.query_radius(centre[chunk], r=r + spread[chunk])
            for cand, k in zip(found, chunk.tolist()):
                rows = idx[starts[k] : ends[k]]
                leaf = owner[cand]
                keep = (leaf < 0) | (leaf >= starts[k])  # earlier dense leaves counted these
                cand, later = cand[keep], leaf[keep] > starts[k]
                if search.metric == "l2":
                    d = emb[rows] @ emb[cand].T
                    d *= -2.0
                    d += sq[rows][:, None]
                    d += sq[cand][None, :]
                    within = d <= r * r + margin
                else:
                    within = cdist(emb[rows], emb[cand], "cityblock") <= r
                bits = within.view(np.uint8)
                counts[rows] += bits.sum(axis=1, dtype=np.int64)
                counts[cand[later]] += bits.sum(axis=0, dtype=np.int64)[later]
    return counts


def _estimated_pairs(search: _Search) -> float:
    """Candidate pairs of all points, extrapolated from the candidate counts of evenly spread points."""
    n = search.embedded.shape[0]
    sample = np.linspace(0, n - 1, min(n, _DENSITY_SAMPLE)).astype(np.intp)
    return float(search.tree.query_radius(search.embedded[sample], r=search.radius, count_only=True).mean()) * n


def _neighbour_graph(search: _Search) -> tuple[np.ndarray, np.ndarray]:
    """Exact neighbour lists of every point as CSR arrays ``(indptr, indices)`` (sparse fields only).

    Leaf by leaf of the tree: the embedding distances between the leaf's points and the ball
    around the leaf that holds all their candidates select the candidates, whose signature
    distances (SciPy's ``cdist``, the definition of the tests' reference) decide.
    """
    _, idx, node_data, bounds = search.tree.get_arrays()
    leaves = np.flatnonzero(node_data["is_leaf"])
    centre = bounds[0][leaves]
    spread = node_data["radius"][leaves] * (1.0 + 1e-7)
    starts, ends = node_data["idx_start"][leaves], node_data["idx_end"][leaves]
    emb, points, metric = search.embedded, search.points, _CDIST[search.metric]
    pair_rows, pair_cols = [], []
    with threadpool_limits(limits=1, user_api="blas"):
        for first in range(0, leaves.size, _LEAF_CHUNK):
            chunk = np.arange(first, min(leaves.size, first + _LEAF_CHUNK))
            for cand, k in zip(
                search.tree.query_radius(centre[chunk], r=search.radius + spread[chunk]), chunk.tolist()
            ):
                rows = idx[starts[k] : ends[k]]
                within = cdist(emb[rows], emb[cand], metric) <= search.radius
                cand = cand[within.any(axis=0)]
                i, j = np.nonzero(cdist(points[rows], points[cand], metric) < search.alpha)
                keep = rows[i] != cand[j]
                pair_rows.append(rows[i[keep]])
                pair_cols.append(cand[j[keep]])
    rows, cols = np.concatenate(pair_rows), np.concatenate(pair_cols)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(search.embedded.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=search.embedded.shape[0]), out=indptr[1:])
    return indptr, cols[order]


def _segments(indptr: np.ndarray, indices: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Concatenated CSR rows ``nodes``."""
    starts, lengths = indptr[nodes], indptr[nodes + 1] - indptr[nodes]
    ends = np.cumsum(lengths)
    return indices[np.arange(ends[-1] if ends.size else 0) + np.repeat(starts - ends + lengths, lengths)]


def _greedy_one_material(points: np.ndarray, alpha: float, metric: str) -> np.ndarray:
    """Representative (local index) for every row of ``points``, greedy rule of the module docstring."""
    n = points.shape[0]
    representative = np.arange(n, dtype=np.int64)
    if n < 2 or alpha <= 0.0:
        return representative
    search = _Search(points, alpha, metric)
    active = np.ones(n, dtype=bool)
    search.pairs = pairs = _estimated_pairs(search)
    if pairs <= _GRAPH_PAIRS and pairs <= _GRAPH_DEGREE * n:  # few neighbours: every exact degree from stored lists
        search.graph = _neighbour_graph(search)
        value = np.diff(search.graph[0])
        exact = np.ones(n, dtype=bool)
    else:
        exact = np.zeros(n, dtype=bool)  # value is the exact degree (else an upper bound: active candidates)
        value = _candidate_counts(search) - 1  # minus the point itself
    # heap of (-value, index); values only decrease, so a stored value bounds the current one
    heap = [(-k, v) for v, k in enumerate(value.tolist()) if k > 0]
    heapq.heapify(heap)
    budget = _BATCH_PAIRS
    while heap:
        neg_key, node = heap[0]
        if not active[node]:
            heapq.heappop(heap)
        elif -neg_key != value[node]:  # stale: push back the current value
            if value[node] > 0:
                heapq.heapreplace(heap, (-int(value[node]), node))
            else:  # degree 0: the node represents itself
                heapq.heappop(heap)
        elif exact[node]:  # exact and maximal (every other value is an upper bound): representative
            heapq.heappop(heap)
            _choose(search, node, int(value[node]), active, exact, value, representative)
            budget = _BATCH_PAIRS
        else:  # exact degrees for a batch of the top entries with an upper bound, pushed back
            batch, pairs = [], 0
            while heap and (not batch or pairs < budget):
                neg_key, node = heap[0]
                if not active[node] or value[node] == 0:
                    heapq.heappop(heap)
                elif -neg_key != value[node]:
                    heapq.heapreplace(heap, (-int(value[node]), node))
                elif exact[node]:
                    break
                else:
                    batch.append(heapq.heappop(heap)[1])
                    pairs += int(value[node])
            nodes = np.array(batch, dtype=np.intp)
            value[nodes] = search.degrees(nodes, active)
            exact[nodes] = True
            for node in batch:
                if value[node] > 0:
                    heapq.heappush(heap, (-int(value[node]), node))
            budget = min(2 * budget, _MAX_BATCH_PAIRS)
    return representative


def _choose(search: _Search, node: int, degree: int, active, exact, value, representative) -> None:
    """Make ``node`` a representative: it and its active neighbours leave; update the values near it.

    Only points within 2 alpha of the representative can lose a neighbour (triangle
    inequality, also in the embedding): an exact value loses the exact neighbours among the
    leaving points, an upper bound the candidates among them. With stored neighbour lists
    (every value exact) the lists of the leaving points give the losses directly.
    """
    if search.graph is not None:
        indptr, indices = search.graph
        members = indices[indptr[node] : indptr[node + 1]]
        members = members[active[members]]
        if members.size != degree:
            raise RuntimeError("spline clustering: degree bookkeeping out of sync")
        removed = np.append(members, node)
        representative[removed] = node
        active[removed] = False
        lost = _segments(indptr, indices, removed)
        lost, times = np.unique(lost[active[lost]], return_counts=True)
        value[lost] -= times
        return
    _, near, dist = search.near(search.tree, np.array([node]), 2.0 * search.radius)
    keep = active[near] & (near != node)
    near, dist = near[keep], dist[keep]
    candidates = near[dist <= search.radius]
    members = candidates[search.similar(np.array([node]), candidates)[0]]
    if members.size != degree:  # cannot happen: same exact decisions as the count
        raise RuntimeError("spline clustering: degree bookkeeping out of sync")
    removed = np.append(members, node)
    representative[removed] = node
    active[removed] = False
    near = near[active[near]]
    bounded = near[~exact[near]]
    if bounded.size:
        value[bounded] -= search.candidate_counts(bounded, removed)
    known = near[exact[near]]
    if known.size:
        value[known] -= np.count_nonzero(search.similar(known, removed), axis=1)


def cluster(signatures: np.ndarray, material: np.ndarray, alpha: float, metric: str = "l1") -> Clusters:
    """Greedy clustering of qps whose signatures are closer than ``alpha`` (strictly), per material."""
    _check_metric(metric)
    signatures = np.asarray(signatures, dtype=float)
    if signatures.ndim != 2:
        raise ValueError(f"signatures must be shaped (n_qp, n_features), got {signatures.shape}")
    if not np.all(np.isfinite(signatures)):
        raise ValueError("signatures contain non-finite values")
    n_qp = signatures.shape[0]
    material = np.asarray(material)
    if material.shape != (n_qp,):
        raise ValueError(f"material must be shaped ({n_qp},), got {material.shape}")
    alpha = float(alpha)
    if not alpha >= 0.0 or not np.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")

    representative = np.arange(n_qp, dtype=np.int64)
    if n_qp:
        _, label = np.unique(material, return_inverse=True)
        label = label.reshape(-1)
        for m in range(int(label.max()) + 1):
            members = np.flatnonzero(label == m)  # ascending: local order == global order (tie-breaking)
            local = _greedy_one_material(np.ascontiguousarray(signatures[members]), alpha, metric)
            representative[members] = members[local]

    distance = np.empty(n_qp, dtype=float)
    chunk = 16384
    for start in range(0, n_qp, chunk):
        sl = slice(start, start + chunk)
        distance[sl] = signature_distance(signatures[sl], signatures[representative[sl]], metric)
    size = np.bincount(representative, minlength=n_qp).astype(np.int64)[representative]
    return Clusters(representative=representative, distance_to_representative=distance, cluster_size=size)


def cluster_histories(
    history: np.ndarray, material: np.ndarray, alpha: float, n_points: int = 10, metric: str = "l1"
) -> Clusters:
    """:func:`spline_signatures` followed by :func:`cluster`."""
    _check_metric(metric)
    return cluster(spline_signatures(history, n_points), material, alpha, metric)
