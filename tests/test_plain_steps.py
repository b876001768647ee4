"""model/plain_steps.py: the plain decoder gives what mlx-lm's `generate_step` gives.

It drops mlx-lm's per-step log-softmax (greedy decoding takes the argmax of the logits), so the
real model's tokens are compared with `generate_step`'s on the same prompt and cache state:
greedily, by sampling at a temperature with the same seed, with a multi-token prompt prefilled in
several chunks, and with a logits processor that must see the same token history at every step.
"""

from __future__ import annotations

import pytest

from mlxagent.model.plain_steps import plain_steps
from mlxagent.model.sampling import SamplingSettings

PROMPT = "def add(a, b):\n    return a + b\n\n\ndef multiply(a, b):\n"


class Recorder:
    """A logits processor that bans one token and records the history it was shown."""

    def __init__(self, banned: int):
        self.banned = banned
        self.seen: list[list[int]] = []

    def __call__(self, tokens, logits):
        self.seen.append(tokens.tolist())
        return logits.at[:, self.banned].add(-float("inf"))


def _run(real_model, mine: bool, sampling: SamplingSettings, max_tokens: int, chunk: int,
         processors=None) -> list[int]:
    import mlx.core as mx
    from mlx_lm.generate import generate_step
    from mlx_lm.models.cache import make_prompt_cache

    ids = real_model.tokenizer.encode(PROMPT)
    cache = make_prompt_cache(real_model.model)
    if sampling.seed is not None:
        mx.random.seed(sampling.seed)
    if mine:
        steps = plain_steps(real_model.model, cache, ids, max_tokens=max_tokens, sampling=sampling,
                            processors=processors, prefill_step_size=chunk)
        return list(steps)
    steps = generate_step(mx.array(ids), real_model.model, max_tokens=max_tokens, sampler=sampling.make_sampler(),
                          logits_processors=processors, prompt_cache=cache, prefill_step_size=chunk)
    return [int(token) for token, _ in steps]


@pytest.mark.parametrize("sampling", [SamplingSettings(temperature=0.0),
                                      SamplingSettings(temperature=0.9, top_p=0.9, seed=7)],
                         ids=["greedy", "sampled"])
def test_tokens_are_generate_steps(real_model, sampling):
    theirs = _run(real_model, False, sampling, max_tokens=24, chunk=8)
    ours = _run(real_model, True, sampling, max_tokens=24, chunk=8)
    assert len(ours) == 24
    assert ours == theirs


def test_processors_see_the_same_history(real_model):
    greedy = SamplingSettings(temperature=0.0)
    first = _run(real_model, True, greedy, max_tokens=1, chunk=512)[0]
    theirs, ours = Recorder(first), Recorder(first)
    a = _run(real_model, False, greedy, max_tokens=6, chunk=5, processors=[theirs])
    b = _run(real_model, True, greedy, max_tokens=6, chunk=5, processors=[ours])
    assert b == a and first not in b  # the processor's ban took effect
    # mlx-lm queues one step past the last token it yields; the histories agree up to ours
    assert ours.seen == theirs.seen[:len(ours.seen)]
    assert len(ours.seen) == 6
    assert ours.seen[-1][-5:] == b[:5]


def test_max_tokens_zero_and_one(real_model):
    greedy = SamplingSettings(temperature=0.0)
    assert _run(real_model, True, greedy, max_tokens=0, chunk=512) == []
    assert _run(real_model, True, greedy, max_tokens=1, chunk=512) == _run(real_model, False, greedy, 1, 512)
