"""The specification of a PLS path model, checked: blocks of items, modes and structural paths.

:func:`build_spec` turns the user's ``blocks`` (construct -> item columns), ``paths`` (pairs
``(from, to)``) and ``modes`` (construct -> ``"A"`` reflective or ``"B"`` formative, default A)
into a :class:`ModelSpec`: the constructs in the order of ``blocks``, the items in block order,
and the numeric layout the estimation works with. Every mistake that makes the model meaningless
raises a ``ValueError`` naming the construct or item at fault: an item in two blocks, a construct
without items, a path to or from an unknown construct, a repeated path, a cycle (named, e.g.
``A -> B -> A``; PLS path models must be recursive) and a construct with no path at all. Only
numpy is imported here (the bootstrap's worker processes load this module).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MISSING", "MODES", "SCHEMES", "ModelSpec", "build_spec", "find_cycle"]

MODES = ("A", "B")
SCHEMES = ("centroid", "factorial", "path")
MISSING = ("mean", "listwise")


@dataclass(frozen=True)
class ModelSpec:
    """A checked model. ``constructs`` in block order; ``items`` all item columns in block order;
    ``blocks`` construct -> its items; ``modes`` construct -> "A" or "B"; ``paths`` the
    ``(from, to)`` pairs as given. Numeric layout: ``block_of[i]`` the construct position of item
    ``i``; ``positions[j]`` the item positions of construct ``j``; ``mask`` (items x constructs,
    1.0 where the item belongs to the construct); ``adjacency`` (constructs x constructs, True at
    ``[i, j]`` for a path i -> j); ``mode_b`` (True for formative constructs); ``preds[j]`` the
    positions of the predecessors of construct ``j`` (empty for exogenous constructs)."""

    constructs: tuple[str, ...]
    items: tuple[str, ...]
    blocks: dict[str, tuple[str, ...]]
    modes: dict[str, str]
    paths: tuple[tuple[str, str], ...]
    block_of: np.ndarray
    positions: tuple[np.ndarray, ...]
    mask: np.ndarray
    adjacency: np.ndarray
    mode_b: np.ndarray
    preds: tuple[np.ndarray, ...]

    @property
    def endogenous(self) -> list[str]:
        """Constructs with at least one incoming path, in block order."""
        return [c for j, c in enumerate(self.constructs) if self.adjacency[:, j].any()]

    def predecessors(self, j: int) -> np.ndarray:
        return self.preds[j]


def build_spec(
    blocks: Mapping[str, Sequence[str]],
    paths: Sequence[tuple[str, str]],
    modes: Mapping[str, str] | None = None,
) -> ModelSpec:
    """Check ``blocks``, ``paths`` and ``modes`` and return the :class:`ModelSpec` (see the module
    docstring for what is refused)."""
    if not isinstance(blocks, Mapping) or not blocks:
        raise ValueError("blocks must be a non-empty mapping construct -> list of item columns.")
    constructs = tuple(str(c) for c in blocks)
    owner: dict[str, str] = {}
    clean: dict[str, tuple[str, ...]] = {}
    for c, items in blocks.items():
        if isinstance(items, str | bytes | Mapping) or not hasattr(items, "__iter__"):
            raise ValueError(f"The items of construct {c!r} must be a list of column names (got {items!r}).")
        items = tuple(items)
        if not items:
            raise ValueError(f"Construct {c!r} has no items: give it at least one item column.")
        for item in items:
            if item in owner:
                where = "twice in that block" if owner[item] == c else f"in blocks {owner[item]!r} and {c!r}"
                raise ValueError(f"Item {item!r} is listed {where}; an item can measure one construct only, once.")
            owner[item] = c
        clean[c] = items

    modes = dict(modes or {})
    unknown = [c for c in modes if c not in clean]
    if unknown:
        raise ValueError(
            f"modes names {', '.join(map(repr, unknown))}, which is not a construct "
            f"(constructs: {', '.join(constructs)})."
        )
    full_modes = {}
    for c in constructs:
        m = str(modes.get(c, "A")).upper()
        if m not in MODES:
            raise ValueError(
                f"The mode of construct {c!r} must be 'A' (reflective) or 'B' (formative), got {modes[c]!r}."
            )
        full_modes[c] = m

    if isinstance(paths, str) or not isinstance(paths, Sequence):
        raise ValueError("paths must be a list of (from, to) pairs of construct names.")
    pos = {c: j for j, c in enumerate(constructs)}
    k = len(constructs)
    adjacency = np.zeros((k, k), dtype=bool)
    pairs = []
    for pair in paths:
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"Each path must be a pair (from, to) of construct names; got {pair!r}.")
        a, b = pair
        for end, name in (("from", a), ("to", b)):
            if name not in pos:
                raise ValueError(
                    f"The path {a!r} -> {b!r} goes {end} {name!r}, which is not a construct "
                    f"(constructs: {', '.join(constructs)})."
                )
        if adjacency[pos[a], pos[b]]:
            raise ValueError(f"The path {a!r} -> {b!r} is listed twice.")
        adjacency[pos[a], pos[b]] = True
        pairs.append((a, b))

    cycle = find_cycle(constructs, adjacency)
    if cycle:
        raise ValueError(
            f"The paths form a cycle: {' -> '.join(cycle)}. A PLS path model must be recursive (no feedback "
            "loops); drop or reverse one of these paths."
        )
    lonely = [c for j, c in enumerate(constructs) if not (adjacency[j].any() or adjacency[:, j].any())]
    if lonely:
        raise ValueError(
            f"Construct {lonely[0]!r} has no path to or from any other construct; every construct must take part "
            "in the structural model (add a path or drop the block)."
        )

    items = tuple(i for c in constructs for i in clean[c])
    block_of = np.array([pos[owner[i]] for i in items], dtype=np.intp)
    positions = tuple(np.flatnonzero(block_of == j) for j in range(k))
    mask = np.zeros((len(items), k))
    mask[np.arange(len(items)), block_of] = 1.0
    return ModelSpec(
        constructs=constructs,
        items=items,
        blocks=clean,
        modes=full_modes,
        paths=tuple(pairs),
        block_of=block_of,
        positions=positions,
        mask=mask,
        adjacency=adjacency,
        mode_b=np.array([full_modes[c] == "B" for c in constructs]),
        preds=tuple(np.flatnonzero(adjacency[:, j]) for j in range(k)),
    )


def find_cycle(names: Sequence[str], adjacency: np.ndarray) -> list[str] | None:
    """A directed cycle as a list of names that starts and ends with the same name, or None."""
    k = len(names)
    state = [0] * k  # 0 unseen, 1 on the current path, 2 done
    for start in range(k):
        if state[start]:
            continue
        stack, path = [(start, iter(np.flatnonzero(adjacency[start])))], [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            nxt = next(children, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state[nxt] == 1:
                loop = path[path.index(int(nxt)) :] + [int(nxt)]
                return [names[i] for i in loop]
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((int(nxt), iter(np.flatnonzero(adjacency[nxt]))))
                path.append(int(nxt))
    return None
