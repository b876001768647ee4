"""Several tokens per forward pass: prompt-lookup drafts and grammar jump-forward, verified.

A decode step costs about as much for a few tokens as for one (the weights are streamed from
memory either way), and an agent's generations are predictable: a tool call's skeleton is fixed
by its grammar, and its values are copied from text already in the context. So each step here

1. drafts tokens without the model: first the tokens the grammar forces next (a logits
   processor with `forced_tokens(tokens)` and `check_draft(draft)`, the llguidance constraint),
   then the tokens that followed the longest recent n-gram of the context where it occurred
   before (prompt lookup, `PromptLookup`), cut where the grammar refuses them and followed by
   what the grammar then forces, and so on up to `max_total` tokens;
2. runs the model once over the pending token and the drafts, which gives the next-token
   logits after each of them;
3. verifies the drafts in order, each against the logits before it after the logits processors
   (so a constraint masks every position as it would in plain decoding): at temperature 0 a
   draft is kept while it is the argmax; with sampling it is kept with the probability the
   model gives it, and at the first refusal the token is drawn from the model's distribution
   without the refused draft (speculative sampling with a point-mass draft: the output
   distribution is the model's own);
4. trims the refused drafts from the KV cache.

Every step yields at least one token, the one the model chose after the last kept draft, so
the output at temperature 0 is plain greedy decoding's, token for token (up to float rounding
in a wider matmul, which the tests check does not change a token on the real model).

Processors are called once per position, in order, and never for a position after a refused
draft, so a stateful processor (the constraint) only ever sees tokens that were kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from .prefill import prefill

if TYPE_CHECKING:
    from .sampling import SamplingSettings

MAX_NGRAM = 4
MIN_NGRAM = 2  # a one-token match predicts too little to pay for the wider forward pass
MAX_DRAFT = 10  # lookup tokens per step, at most
MIN_DRAFT = 2
MAX_TOTAL = 32  # draft tokens per step, grammar-forced ones included


@dataclass
class DecodeCounters:
    """What a speculative generation did; all zero for plain decoding but `forward_passes`."""

    forward_passes: int = 0  # model calls after the prefill
    drafted: int = 0  # draft tokens fed to the model (lookup and grammar)
    accepted_lookup: int = 0  # prompt-lookup draft tokens kept
    accepted_forced: int = 0  # grammar jump-forward tokens kept


class PromptLookup:
    """The tokens that followed the most recent earlier occurrence of the context's suffix.

    `index[ngram]` is the position of the token that followed `ngram` the last time it occurred
    (so the suffix itself, which nothing follows yet, is never its own match).
    """

    def __init__(self, tokens: Sequence[int], max_ngram: int = MAX_NGRAM, min_ngram: int = MIN_NGRAM):
        self.max_ngram, self.min_ngram = max_ngram, min_ngram
        self.tokens: list[int] = []
        self.index: dict[tuple[int, ...], int] = {}
        self.extend(tokens)

    def extend(self, tokens: Sequence[int]) -> None:
        ctx, index, top = self.tokens, self.index, self.max_ngram
        for token in tokens:
            end = len(ctx)  # `token` follows the n-grams ending at end - 1
            for n in range(1, min(top, end) + 1):
                index[tuple(ctx[end - n:end])] = end
            ctx.append(token)

    def draft(self, k: int, extra: Sequence[int] = ()) -> tuple[list[int], int]:
        """Up to `k` tokens predicted to follow the context (plus `extra`, tokens drafted before
        these), and the length of the n-gram that matched (0: none)."""
        if k <= 0:
            return [], 0
        ctx = self.tokens + list(extra) if extra else self.tokens
        end = len(ctx)
        for n in range(min(self.max_ngram, end), self.min_ngram - 1, -1):
            at = self.index.get(tuple(ctx[end - n:end]))
            if at is not None:
                return list(ctx[at:at + k]), n
        return [], 0


class AdaptiveDraftLength:
    """How many lookup tokens to draft: grows after a fully kept draft, shrinks after a miss."""

    def __init__(self, start: int = 4, low: int = MIN_DRAFT, high: int = MAX_DRAFT):
        self.k, self.low, self.high = start, low, high

    def update(self, drafted: int, kept: int) -> None:
        if drafted == 0:
            return
        if kept >= drafted:
            self.k = min(self.high, self.k + 2)
        else:
            self.k = max(self.low, min(self.k, kept + 1))


class Chooser:
    """Picks the token at one position from processed logits (1, vocab), given a draft or not."""

    def __init__(self, sampling: "SamplingSettings"):
        import mlx.core as mx
        from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p

        self.temperature = sampling.temperature
        filters: list[Callable[[Any], Any]] = []
        if self.temperature > 0:
            if 0 < sampling.top_p < 1.0:
                filters.append(lambda x: apply_top_p(x, sampling.top_p))
            if sampling.min_p:
                filters.append(lambda x: apply_min_p(x, sampling.min_p))
            if sampling.top_k > 0:
                filters.append(lambda x: apply_top_k(x, sampling.top_k))
        self.filters = filters
        self.mx = mx

    def greedy_many(self, logits: Any) -> list[int]:
        return self.mx.argmax(logits, axis=-1).tolist()

    def choose(self, logits: Any, draft: int | None) -> int:
        mx = self.mx
        if self.temperature <= 0:
            return int(mx.argmax(logits, axis=-1).item())
        logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        for f in self.filters:
            logprobs = f(logprobs)
        scaled = logprobs * (1.0 / self.temperature)
        if draft is None:
            return int(mx.random.categorical(scaled).item())
        p_draft = mx.softmax(scaled, axis=-1)[0, draft]
        if mx.random.uniform().item() < p_draft.item():
            return draft
        # The residual of a point-mass draft: the model's distribution without the draft token.
        residual = scaled.at[0, draft].add(-float("inf"))
        return int(mx.random.categorical(residual).item())


def speculative_steps(
    model: Any,
    cache: list[Any],
    context: Sequence[int],
    new: Sequence[int],
    *,
    max_tokens: int,
    sampling: "SamplingSettings",
    processors: list[Callable] | None,
    prefill_step_size: int,
    counters: DecodeCounters,
    max_draft: int = MAX_DRAFT,
    max_total: int = MAX_TOTAL,
) -> Iterator[tuple[int, str]]:
    """Yield (token, how it came: "model" | "lookup" | "forced") after prefilling `new`.

    `context`: the tokens the cache already holds (before `new`), searched by prompt lookup.
    Processors see `new` and then the generated tokens, as with mlx-lm's `generate_step`.
    """
    import mlx.core as mx
    from mlx_lm.generate import generation_stream
    from mlx_lm.models.cache import trim_prompt_cache

    processors = list(processors or ())
    forcing = next((p for p in processors if callable(getattr(p, "forced_tokens", None))
                    and callable(getattr(p, "check_draft", None))), None)
    chooser = Chooser(sampling)
    finder = PromptLookup(list(context) + list(new))
    length = AdaptiveDraftLength(high=max_draft)
    seen: list[int] = list(new)  # what the processors are shown
    prefill(model, cache, list(new)[:-1], prefill_step_size)  # all but the last token
    pending = list(new)[-1:]
    with mx.stream(generation_stream):
        produced = 0
        while produced < max_tokens:
            budget = min(max_tokens - produced - 1, max_total)  # the step's own token always comes
            drafts: list[int] = []
            if forcing is not None and budget > 0:
                drafts = list(forcing.forced_tokens(mx.array(seen)))[:budget]
            kinds = ["forced"] * len(drafts)
            looked = 0
            while len(drafts) < budget and looked < length.k:
                extra, _ = finder.draft(min(length.k - looked, budget - len(drafts)), drafts)
                if not extra:
                    break
                more: list[int] = []
                if forcing is not None:  # drafts the grammar refuses are cut; what it then forces follows
                    valid, more = forcing.check_draft(drafts + extra)
                    extra = extra[:max(0, valid - len(drafts))]
                looked += len(extra)
                drafts += extra
                kinds += ["lookup"] * len(extra)
                more = more[:budget - len(drafts)]
                if not extra or not more:
                    break
                drafts += more
                kinds += ["forced"] * len(more)
            logits = model(mx.array(pending + drafts)[None], cache=cache)[0, -(len(drafts) + 1):, :]
            counters.forward_passes += 1
            counters.drafted += len(drafts)
            kept: list[int] = []

            def picks() -> Iterator[int]:
                """The model's token at each position, decided lazily up to the first refusal."""
                if not processors and chooser.temperature <= 0:
                    yield from chooser.greedy_many(logits)  # no per-position state: one argmax
                    return
                for i in range(len(drafts) + 1):
                    row = logits[i:i + 1]
                    if processors:
                        shown = mx.array(seen + kept)
                        for p in processors:
                            row = p(shown, row)
                    yield chooser.choose(row, drafts[i] if i < len(drafts) else None)

            for i, token in enumerate(picks()):
                kept.append(token)
                if i == len(drafts) or token != drafts[i]:
                    break
            kept_drafts = len(kept) - 1
            if len(drafts) > kept_drafts:
                trim_prompt_cache(cache, len(drafts) - kept_drafts)
            length.update(looked, kinds[:kept_drafts].count("lookup"))
            finder.extend(kept)
            seen += kept
            pending = [kept[-1]]
            if counters.forward_passes % 256 == 0:
                mx.clear_cache()
            for i, token in enumerate(kept):
                produced += 1
                kind = kinds[i] if i < kept_drafts else "model"
                # Counted as they are taken: a stop string or cancel mid-pass leaves the rest out.
                if kind == "lookup":
                    counters.accepted_lookup += 1
                elif kind == "forced":
                    counters.accepted_forced += 1
                yield token, kind
