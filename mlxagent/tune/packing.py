"""Training data as the trainer is fed it: packed sequences and their batches.

On a small CPU the attention over ~2,000-token prompts is nearly all of the cost of training,
and most of those tokens are the same in every example, so:

* Examples of one conversation are packed: when an earlier target's prompt and completion are
  exactly the start of a later example's tokens, one sequence carries both targets.
* The prefix every sequence shares (the system prompt and the tool list) is found here
  (`shared_prefix`); the model pass (forward.py) runs it once per batch.
* A batch carries where the target tokens are, so that logits are computed only there (the
  loss is on the completions only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .dataset import Rendered


@dataclass
class Packed:
    """One sequence and the token spans [start, end) that are targets."""

    tokens: list[int]
    spans: list[tuple[int, int]]
    sources: list[str]

    @property
    def target_tokens(self) -> int:
        return sum(b - a for a, b in self.spans)



@dataclass
class Prepared:
    """The hidden states that enter the first trained block: the shared prefix's, and each
    sequence's own. The blocks below it are frozen, so these never change during training."""

    first: int  # index of the first trained block
    prefix: Any  # [1, P, D]
    rows: list[Any]  # [1, S_i, D] per sequence


def _conversation(source: str) -> tuple[str, int]:
    record, _, index = source.rpartition("#")
    return (record, int(index)) if index.isdigit() else (source, 0)


def pack(items: Sequence[Rendered]) -> list[Packed]:
    """Merge each conversation's examples into as few sequences as their tokens allow."""
    by_record: dict[str, list[Rendered]] = {}
    for item in items:
        by_record.setdefault(_conversation(item.source)[0], []).append(item)
    out: list[Packed] = []
    for group in by_record.values():
        group.sort(key=lambda i: _conversation(i.source)[1])
        current: Packed | None = None
        for item in group:
            span = (item.offset, len(item.tokens))
            if current is not None and item.tokens[:len(current.tokens)] == current.tokens:
                current.tokens = list(item.tokens)
                current.spans.append(span)
                current.sources.append(item.source)
            else:
                if current is not None:
                    out.append(current)
                current = Packed(list(item.tokens), [span], [item.source])
        if current is not None:
            out.append(current)
    return out


def shared_prefix(seqs: Sequence[Packed]) -> int:
    """The number of leading tokens every sequence has in common, ending before any target."""
    if not seqs:
        return 0
    first = seqs[0].tokens
    n = min(len(s.tokens) for s in seqs)
    for s in seqs[1:]:
        i = 0
        while i < n and s.tokens[i] == first[i]:
            i += 1
        n = i
    earliest = min(a for s in seqs for a, _ in s.spans)
    return max(0, min(n, earliest - 1))


def make_batches(seqs: Sequence[Packed], batch_size: int) -> list[list[int]]:
    """Indices of the sequences per batch: similar lengths together, as mlx-lm batches them."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i].tokens))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def target_arrays(seqs: Sequence[Packed], indices: Sequence[int], prefix: int):
    """(positions, targets, weights), each [B, T]: where in the rows' own tokens (after the shared
    prefix) each target token is predicted, the token, and 1 (0 for padding)."""
    import numpy as np

    chosen = [seqs[i] for i in indices]
    n_targets = max(s.target_tokens for s in chosen)
    positions = np.zeros((len(chosen), n_targets), np.int32)
    targets = np.zeros((len(chosen), n_targets), np.int32)
    weights = np.zeros((len(chosen), n_targets), np.float32)
    for row, s in enumerate(chosen):
        col = 0
        for a, b in s.spans:
            for t in range(a, b):  # token t is predicted at sequence position t - 1
                positions[row, col] = t - 1 - prefix
                targets[row, col] = s.tokens[t]
                weights[row, col] = 1.0
                col += 1
    return positions, targets, weights


def token_batch(seqs: Sequence[Packed], indices: Sequence[int], prefix: int):
    """(prefix tokens [1, P], the rows' own input tokens [B, S], positions, targets, weights)."""
    import mlx.core as mx
    import numpy as np

    chosen = [seqs[i] for i in indices]
    inputs = np.zeros((len(chosen), max(len(s.tokens) for s in chosen) - 1 - prefix), np.int32)
    for row, s in enumerate(chosen):
        own = s.tokens[prefix:-1]
        inputs[row, :len(own)] = own
    head = np.array([seqs[indices[0]].tokens[:prefix]], np.int32)
    return (mx.array(head), mx.array(inputs), *(mx.array(a) for a in target_arrays(seqs, indices, prefix)))


def hidden_batch(prepared: Prepared, seqs: Sequence[Packed], indices: Sequence[int], prefix: int):
    """(prefix hidden states [1, P, D], the rows' hidden states [B, S, D], positions, targets, weights):
    what enters the first trained block, computed once by `prepare`."""
    import mlx.core as mx

    rows = [prepared.rows[i] for i in indices]
    width = max(r.shape[1] for r in rows)
    padded = [r if r.shape[1] == width else mx.pad(r, [(0, 0), (0, width - r.shape[1]), (0, 0)]) for r in rows]
    return (prepared.prefix, mx.concatenate(padded, axis=0),
            *(mx.array(a) for a in target_arrays(seqs, indices, prefix)))


def iterate_packed(prefix: int, seed: int, prepared: Prepared | None = None):
    """An `iterate_batches` for mlx-lm's trainer over packed sequences (a list of Packed)."""
    import numpy as np

    def iterate(dataset, batch_size, max_seq_length, loop=False, comm_group=None):
        batches = make_batches(dataset, min(batch_size, len(dataset)))
        rng = np.random.default_rng(seed)
        while True:
            for i in rng.permutation(len(batches)):
                if prepared is not None:
                    yield hidden_batch(prepared, dataset, batches[i], prefix)
                else:
                    yield token_batch(dataset, batches[i], prefix)
            if not loop:
                break

    return iterate


def describe_data(data: Sequence[Rendered]) -> dict[str, Any]:
    seqs = pack(data)
    lengths = sorted(len(s.tokens) for s in seqs)
    return {"examples": len(data), "sequences": len(seqs), "shared_prefix": shared_prefix(seqs),
            "tokens": sum(lengths), "target_tokens": sum(s.target_tokens for s in seqs),
            "longest": lengths[-1] if lengths else 0, "median": lengths[len(lengths) // 2] if lengths else 0}
