"""How tokens are drawn: temperature, top-p/top-k/min-p and the seed of one generation.

Its own module so that kv_cache.py (the chat session) and speculative.py (the multi-token
decode steps it runs) both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: int | None = None

    def make_sampler(self):
        from mlx_lm.sample_utils import make_sampler

        return make_sampler(temp=self.temperature, top_p=self.top_p, top_k=self.top_k, min_p=self.min_p)
