"""A small directed graph of pipeline steps with deterministic ordering and named cycles.

Determinism matters twice: the same definition must give the same run order on every machine (so manifests and
rendered SageMaker definitions are reproducible), and an error must name the same cycle every time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from pipeline_code.dag.errors import CycleError, UnknownStepError


class PipelineDAG:
    """Nodes (step types) and edges ``producer -> consumer``.

    ``topological_order`` breaks ties by name, and raises CycleError naming one concrete cycle, e.g.
    ``A -> B -> C -> A``.
    """

    def __init__(self, nodes: Iterable[str] = (), edges: Iterable[tuple[str, str]] = ()) -> None:
        self._successors: dict[str, set[str]] = {}
        self._predecessors: dict[str, set[str]] = {}
        for node in nodes:
            self.add_node(node)
        for source, target in edges:
            self.add_edge(source, target)

    def add_node(self, node: str) -> None:
        self._successors.setdefault(node, set())
        self._predecessors.setdefault(node, set())

    def add_edge(self, source: str, target: str) -> None:
        """Add ``source -> target``; both nodes must exist, so a typo cannot create a phantom step."""
        for node in (source, target):
            if node not in self._successors:
                raise UnknownStepError(f"edge {source} -> {target}: the DAG has no node {node!r}")
        self._successors[source].add(target)
        self._predecessors[target].add(source)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(sorted(self._successors))

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((s, t) for s, targets in self._successors.items() for t in targets))

    def successors(self, node: str) -> tuple[str, ...]:
        return tuple(sorted(self._successors[node]))

    def predecessors(self, node: str) -> tuple[str, ...]:
        return tuple(sorted(self._predecessors[node]))

    def descendants(self, node: str) -> frozenset[str]:
        """Every node reachable from ``node`` (not including it, unless it lies on a cycle)."""
        return self._reachable(node, self._successors)

    def ancestors(self, node: str) -> frozenset[str]:
        return self._reachable(node, self._predecessors)

    @staticmethod
    def _reachable(node: str, adjacency: dict[str, set[str]]) -> frozenset[str]:
        seen: set[str] = set()
        stack = list(adjacency[node])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(adjacency[current])
        return frozenset(seen)

    def find_cycle(self) -> tuple[str, ...] | None:
        """One cycle as ``(A, B, C, A)``, or None. Searches nodes and successors in name order (deterministic)."""
        white, grey, black = 0, 1, 2
        colour = dict.fromkeys(self._successors, white)
        for start in sorted(self._successors):
            if colour[start] != white:
                continue
            # Iterative DFS: recursion would hit Python's limit on long chains.
            path: list[str] = [start]
            iterators = [iter(sorted(self._successors[start]))]
            colour[start] = grey
            while iterators:
                advanced = False
                for nxt in iterators[-1]:
                    if colour[nxt] == grey:
                        return (*path[path.index(nxt) :], nxt)
                    if colour[nxt] == white:
                        colour[nxt] = grey
                        path.append(nxt)
                        iterators.append(iter(sorted(self._successors[nxt])))
                        advanced = True
                        break
                if not advanced:
                    colour[path.pop()] = black
                    iterators.pop()
        return None

    def topological_order(self) -> tuple[str, ...]:
        """Every node after all its predecessors; among ready nodes the smallest name comes first."""
        in_degree = {node: len(preds) for node, preds in self._predecessors.items()}
        ready = [node for node, degree in in_degree.items() if degree == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            node = heapq.heappop(ready)
            order.append(node)
            for nxt in self._successors[node]:
                in_degree[nxt] -= 1
                if in_degree[nxt] == 0:
                    heapq.heappush(ready, nxt)
        if len(order) != len(in_degree):
            cycle = self.find_cycle()
            assert cycle is not None, "Kahn's algorithm stalled, so a cycle exists"
            raise CycleError(cycle)
        return tuple(order)
