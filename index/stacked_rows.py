"""Several shards' vectors seen as one array in the index's row order, without copying them.

Why not ``np.concatenate``: past the exact-search threshold a query scores a few thousand rows of the corpus, yet a
concatenated copy holds every live vector in the process's own memory (a million passages and as many sentences of
384 floats: 3 GiB) on top of the shard files' pages it was read from. Here the shards' memory-mapped arrays stay
as they are: a query reads the pages of the rows it scores, which the OS shares between processes and reclaims.

``StackedRows`` answers what the scorer (``retrieval/scoring.py``) asks of an array: ``len``, ``shape``, rows by
index array, slice or integer (copies, as numpy's fancy indexing gives), a product with a vector, ``np.asarray``.
"""

from __future__ import annotations

import numpy as np


class StackedRows:
    def __init__(self, parts: list[np.ndarray], row_maps: list[np.ndarray], rows: int, dimension: int) -> None:
        """``parts[k]``: shard k's vectors; ``row_maps[k][i]``: the row here of its row i (-1: a removed one)."""
        self.parts = parts
        self.row_maps = row_maps
        self.shape = (rows, dimension)
        self.dtype = np.dtype(np.float32)
        self.ndim = 2
        self.live = [np.flatnonzero(m >= 0) for m in row_maps]
        self.part_of = np.zeros(rows, np.int32)
        self.local = np.zeros(rows, np.int64)
        for k, (row_map, live) in enumerate(zip(row_maps, self.live)):
            self.part_of[row_map[live]] = k
            self.local[row_map[live]] = live

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            return self._take(np.arange(*key.indices(len(self))))
        if isinstance(key, (int, np.integer)):
            row = int(key) + len(self) if key < 0 else int(key)
            if not 0 <= row < len(self):
                raise IndexError(f"row {key} out of range for {len(self)} rows")
            return np.asarray(self.parts[self.part_of[row]][self.local[row]], dtype=np.float32)
        return self._take(np.asarray(key, dtype=np.int64))

    def _take(self, rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), self.shape[1]), np.float32)
        if rows.size and (rows.min() < -len(self) or rows.max() >= len(self)):
            raise IndexError(f"rows out of range for {len(self)} rows")
        rows = np.where(rows < 0, rows + len(self), rows)
        part = self.part_of[rows]
        for k in np.unique(part):  # a loop over shards (a handful), not rows
            chosen = part == k
            out[chosen] = self.parts[k][self.local[rows[chosen]]]
        return out

    def __matmul__(self, vector: np.ndarray) -> np.ndarray:
        """Every row's product with ``vector`` (exact scoring), each shard's rows in one product."""
        out = np.empty(len(self), np.float32)
        for part, row_map, live in zip(self.parts, self.row_maps, self.live):
            out[row_map[live]] = np.asarray(part @ vector)[live]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self._take(np.arange(len(self)))
        return whole if dtype is None else whole.astype(dtype)
