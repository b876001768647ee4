"""Speculative decoding (model/speculative.py): prompt-lookup drafts and grammar jump-forward.

The real-model tests check that it changes nothing a user can see at temperature 0: for
agent-style prompts (a forced edit after a read, free text, a read call, with and without
the constraint) the tokens, the text and the finish reason are plain decoding's, also at
max_tokens, at a stop string, on cancel and across turns that reuse the KV cache, and the
cache always holds exactly `cached_tokens`. The unit tests check the pieces without the
model: prompt lookup, the adaptive draft length, and that verifying a draft by sampling
leaves the sampled distribution the model's own.

The generated tokens are recorded where the session takes them from its decoder (a tap on
`speculative_steps` / `ChatSession._plain_steps`): `session.cached_tokens` is what the KV
cache holds, and after a speculative generation that is one token shorter than after a plain
one (the last token, or the EOS, is chosen but never fed to the model), so it cannot be
compared with plain's.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlxagent.model.speculative import AdaptiveDraftLength, Chooser, PromptLookup

# ----------------------------------------------------------------------------- prompts

SOURCE = (
    '"""Sliding-window helpers."""\n'
    "\n"
    "\n"
    "def window_sums(values, size):\n"
    '    """Sum of every run of `size` consecutive values, in order."""\n'
    "    if size <= 0:\n"
    '        raise ValueError("size must be positive")\n'
    "    return [sum(values[i : i + size]) for i in range(len(values) - size)]\n"
)
REQUEST = "Read windows.py and fix the off-by-one bug in window_sums."
FILES = ["windows.py", "test_windows.py"]


def _tools() -> dict[str, dict[str, Any]]:
    from mlxagent.core.tools import ALL_TOOLS

    return {spec.name: spec.schema() for spec in ALL_TOOLS}


def _workspace_tools() -> list[dict[str, Any]]:
    """read_file and edit_file as the agent offers them (paths narrowed to the workspace's files);
    two tools, not all eight, so that the prompts stay short enough to prefill quickly."""
    from mlxagent.core.formats import with_path_enums

    tools = _tools()
    return with_path_enums([tools["read_file"], tools["edit_file"]], FILES, ["."])


def _system() -> dict[str, str]:
    from mlxagent.core.prompts import SYSTEM_PROMPT

    return {"role": "system", "content": SYSTEM_PROMPT}


def _read_result() -> str:
    lines = SOURCE.splitlines()
    numbered = "\n".join(f"{i:4}| {line}" for i, line in enumerate(lines, 1))
    return f"[step 1] windows.py ({len(lines)} lines):\n{numbered}"


def _cases() -> dict[str, tuple[list[dict], list[dict], Any]]:
    """name -> (messages, tools in the prompt, constraint or None)."""
    from mlxagent.core.formats import forced_edit_tools
    from mlxagent.core.llm import Constraint

    tools = _tools()
    workspace = _workspace_tools()
    call = {"id": "call_1", "type": "function",
            "function": {"name": "read_file", "arguments": json.dumps({"path": "windows.py"})}}
    after_read = [
        _system(),
        {"role": "user", "content": REQUEST},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "name": "read_file", "content": _read_result()},
    ]
    # What the agent forces after a read: edit_file only, `search` one of the file's real lines.
    edits = [t for t in forced_edit_tools([tools["edit_file"], tools["write_file"]], ["windows.py"],
                                          {"windows.py": SOURCE.splitlines()})
             if t["function"]["name"] == "edit_file"]
    first = [_system(), {"role": "user", "content": REQUEST}]
    free = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Explain in two sentences what this function does:\n\n" + SOURCE}]
    return {
        "forced_edit": (after_read, workspace, Constraint(edits, forced=True)),
        "after_read_unconstrained": (after_read, workspace, None),
        "free_text": (free, [], None),
        "read_call_unforced": (first, workspace, Constraint(workspace, forced=False)),
        "read_call_forced": (first, workspace, Constraint(workspace, forced=True)),
    }


# ----------------------------------------------------------------------------- running

@dataclass
class Run:
    text: str
    tokens: list[int]  # as decoded, EOS included when it came
    finish: str
    stats: Any
    session: Any
    chunks: list[str] = field(default_factory=list)


@contextmanager
def _recording(into: list[int]):
    """Record each token the session's decoder yields (speculative or plain)."""
    import mlxagent.model.kv_cache as session_module

    speculative, plain = session_module.speculative_steps, session_module.ChatSession._plain_steps

    def tap(steps):
        try:
            for item in steps:
                into.append(int(item[0]))
                yield item
        finally:
            steps.close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session_module, "speculative_steps", lambda *a, **k: tap(speculative(*a, **k)))
        mp.setattr(session_module.ChatSession, "_plain_steps", lambda self, *a, **k: tap(plain(self, *a, **k)))
        yield


class Runner:
    """Generations of the real model, remembered, so that tests share the plain baselines.

    Prefilling a 700-token agent prompt takes seconds on a CPU, so each prompt is prefilled once
    (plain decoding) and every generation on it runs in a fork of that session: the fork holds
    all of the prompt's KV cache but its last token, and prefills that one itself. The full
    prefill inside `speculative_steps` is checked on its own (`fresh=True`).
    """

    def __init__(self, loaded):
        from mlxagent.model.chat_model import MlxChatModel

        self.loaded = loaded
        self.model = MlxChatModel(loaded)
        self.cases = _cases()
        self._memo: dict[tuple, Run] = {}
        self._primed: dict[tuple[int, ...], Any] = {}

    def prompt(self, case: str) -> list[int]:
        messages, tools, _ = self.cases[case]
        return self.model.prompt_tokens(messages, tools)

    def session(self, case: str, speculative: bool):
        """A session whose KV cache holds all of `case`'s prompt but the last token."""
        from mlxagent.model.kv_cache import ChatSession

        prompt = self.prompt(case)
        primed = self._primed.get(tuple(prompt))
        if primed is None:
            primed = ChatSession(self.loaded, reuse=True, speculative=False)
            for _ in primed.generate(prompt, max_tokens=1):
                pass
            self._primed[tuple(prompt)] = primed
        fork = primed.fork(len(prompt) - 1)
        assert fork is not None and fork.cached_tokens == prompt[:-1]
        fork.speculative = speculative
        return fork

    def run(self, case: str, speculative: bool, max_tokens: int, stop: tuple[str, ...] = (),
            fresh: bool = False) -> Run:
        from mlxagent.model.kv_cache import ChatSession

        key = (case, speculative, max_tokens, stop, fresh)
        if key not in self._memo:
            messages, tools, constraint = self.cases[case]
            session = (ChatSession(self.loaded, reuse=False, speculative=speculative, prefill_step_size=40)
                       if fresh else self.session(case, speculative))
            run = self.stream(messages, tools, constraint, speculative, max_tokens, stop=stop, session=session)
            assert run.stats.prefilled_tokens == (run.stats.prompt_tokens if fresh else 1)
            self._memo[key] = run
        return self._memo[key]

    def stream(self, messages, tools, constraint, speculative: bool, max_tokens: int, *, stop=(),
               session=None, cancel=None, cancel_when=None) -> Run:
        from mlxagent.model.kv_cache import ChatSession

        session = session or ChatSession(self.loaded, reuse=False, speculative=speculative)
        assert session.speculative is speculative
        tokens: list[int] = []
        chunks: list[str] = []
        last = None
        with _recording(tokens):
            for chunk in self.model.stream(messages, tools, constraint=constraint, max_tokens=max_tokens,
                                           stop=stop, session=session, cancel=cancel):
                chunks.append(chunk.text)
                last = chunk
                if cancel_when is not None and cancel_when("".join(chunks)):
                    cancel.set()
        return Run("".join(chunks), tokens, last.finish_reason, last.stats, session, chunks)


@pytest.fixture(scope="module")
def runner(real_model):
    return Runner(real_model)


def _generated(run: Run) -> list[int]:
    """The tokens counted as generated (an EOS that ended the generation is not)."""
    return run.tokens[:run.stats.generated_tokens]


def _assert_cache_consistent(run: Run, prompt_tokens: list[int] | None = None) -> None:
    """The KV cache holds exactly `cached_tokens`, and those are the prompt and a prefix of the output."""
    session, stats = run.session, run.stats
    assert session._cache[0].offset == len(session.cached_tokens)
    if prompt_tokens is not None:
        assert session.cached_tokens[:stats.prompt_tokens] == prompt_tokens
    held = session.cached_tokens[stats.prompt_tokens:]
    assert held == run.tokens[:len(held)]
    assert len(held) >= stats.generated_tokens - 1  # at most the last chosen token is not fed yet


# ----------------------------------------------------------------------------- 1. exactness

EXACT_TOKENS = {"forced_edit": 48, "after_read_unconstrained": 40, "free_text": 80,
                "read_call_unforced": 32, "read_call_forced": 48}


@pytest.mark.real_model
@pytest.mark.parametrize("case", list(EXACT_TOKENS))
def test_greedy_speculative_output_is_plain_decodings_token_for_token(runner, case):
    max_tokens = EXACT_TOKENS[case]
    plain = runner.run(case, False, max_tokens)
    spec = runner.run(case, True, max_tokens)
    assert spec.tokens == plain.tokens, (case, plain.text, spec.text)
    assert spec.text == plain.text
    assert (spec.finish, spec.stats.generated_tokens) == (plain.finish, plain.stats.generated_tokens)
    assert spec.stats.prompt_tokens == plain.stats.prompt_tokens
    assert plain.stats.draft_tokens == plain.stats.accepted_draft_tokens == plain.stats.jump_forward_tokens == 0
    assert spec.stats.draft_tokens >= spec.stats.accepted_draft_tokens + spec.stats.jump_forward_tokens
    # Each pass yields one token more than the drafts it kept (the session may stop before the
    # end of the last pass, at EOS).
    yielded = spec.stats.forward_passes + spec.stats.accepted_draft_tokens + spec.stats.jump_forward_tokens
    assert (yielded == len(spec.tokens)) if spec.finish == "length" else (yielded >= len(spec.tokens))
    assert plain.stats.forward_passes >= len(plain.tokens)
    _, _, constraint = runner.cases[case]
    if constraint is not None:
        assert spec.stats.forward_passes < spec.stats.generated_tokens, spec.stats  # drafts were kept
    if constraint is not None and constraint.forced:
        assert spec.stats.jump_forward_tokens > 0, spec.stats
        assert spec.text.startswith("<tool_call>")
    if case == "forced_edit":
        assert '"name": "edit_file"' in spec.text and '"path": "windows.py"' in spec.text
    for run in (plain, spec):
        _assert_cache_consistent(run, runner.prompt(case))


@pytest.mark.real_model
def test_greedy_speculative_output_is_exact_after_a_full_prefill(runner):
    """A fresh session: `speculative_steps` prefills the whole prompt itself (in chunks)."""
    plain = runner.run("free_text", False, 24, fresh=True)
    spec = runner.run("free_text", True, 24, fresh=True)
    assert spec.stats.prompt_tokens > 2 * 40  # more than two prefill chunks
    assert spec.tokens == plain.tokens and spec.text == plain.text and spec.finish == plain.finish
    assert spec.tokens == runner.run("free_text", False, 80).tokens[:24]  # and the forked runs agree
    assert spec.stats.forward_passes < spec.stats.generated_tokens
    _assert_cache_consistent(spec, runner.prompt("free_text"))


# ----------------------------------------------------------------------------- 2. max_tokens

@pytest.mark.real_model
@pytest.mark.parametrize(("case", "max_tokens"), [("free_text", 1), ("free_text", 2), ("free_text", 40),
                                                  ("read_call_forced", 3), ("read_call_forced", 12)])
def test_max_tokens_is_exact(runner, case, max_tokens):
    # The free text copies the function (long lookup drafts) and ends with EOS after ~70 tokens;
    # the forced call's grammar forces runs of tokens that reach past 3 and 12 (jump-forward).
    spec = runner.run(case, True, max_tokens)
    plain = runner.run(case, False, max_tokens)
    assert (spec.finish, spec.stats.generated_tokens, len(spec.tokens)) == ("length", max_tokens, max_tokens)
    assert (plain.finish, plain.stats.generated_tokens) == ("length", max_tokens)
    assert spec.tokens == plain.tokens and spec.text == plain.text
    if max_tokens >= 12:
        assert spec.stats.forward_passes < max_tokens
    if case == "read_call_forced":
        assert spec.stats.jump_forward_tokens > 0
    _assert_cache_consistent(spec, runner.prompt(case))


# ----------------------------------------------------------------------------- 3. stop strings

@pytest.mark.real_model
def test_stop_string_output_is_plain_decodings(runner):
    full = runner.run("free_text", False, 80)
    stop = "raise ValueError"  # inside the copied function: lookup drafts run through it
    assert stop in full.text, full.text
    plain = runner.run("free_text", False, 80, stop=(stop,))
    spec = runner.run("free_text", True, 80, stop=(stop,))
    assert plain.finish == spec.finish == "stop_string"
    assert spec.text == plain.text == full.text[:full.text.index(stop)]
    assert spec.stats.generated_tokens == plain.stats.generated_tokens
    assert _generated(spec) == _generated(plain)
    _assert_cache_consistent(spec)  # drafts kept past the stop string are trimmed from the cache


# The draft counters count only drafts the session took: a stop string mid-pass leaves the rest out.
@pytest.mark.real_model
def test_draft_counters_count_only_the_drafts_in_the_output(runner):
    spec = runner.run("free_text", True, 80, stop=("raise ValueError",))
    stats = spec.stats
    # Each pass gives its kept drafts, then the model's own token; the last pass may stop (at the
    # stop string) inside its drafts, before that token. Drafts past the stop are not counted.
    kept = stats.accepted_draft_tokens + stats.jump_forward_tokens
    assert stats.generated_tokens - stats.forward_passes <= kept <= stats.generated_tokens - stats.forward_passes + 1, stats
    assert kept < stats.draft_tokens, stats  # some drafts of the last pass were trimmed, not counted


# ----------------------------------------------------------------------------- 4. cancel

@pytest.mark.real_model
@pytest.mark.parametrize("when", ["first chunk", "mid-copy"])
def test_cancel_ends_cleanly_and_the_cache_stays_usable(runner, when):
    messages, tools, _ = runner.cases["free_text"]
    prompt = runner.model.prompt_tokens(messages, tools)
    full = runner.run("free_text", False, 80)
    session = runner.session("free_text", True)  # reuse=True
    cancel = threading.Event()
    cancel_when = (lambda text: True) if when == "first chunk" else (lambda text: "def window_sums" in text)
    run = runner.stream(messages, tools, None, True, 80, session=session, cancel=cancel, cancel_when=cancel_when)
    assert run.finish == "cancelled"
    assert 0 < run.stats.generated_tokens < full.stats.generated_tokens
    assert _generated(run) == full.tokens[:run.stats.generated_tokens]
    _assert_cache_consistent(run, prompt)
    # The trimmed cache is right, not just the right length: going on from where the cancel left
    # off (reusing it) gives plain decoding's continuation.
    done = run.stats.generated_tokens
    more: list[int] = []
    with _recording(more):
        chunks = list(session.generate(prompt + full.tokens[:done], max_tokens=12))
    assert chunks[-1].stats.reused_tokens >= len(prompt) + done - 1
    assert more == full.tokens[done:done + 12]
    assert session._cache[0].offset == len(session.cached_tokens)


# ----------------------------------------------------------------------------- 5. turns

@pytest.mark.real_model
def test_kv_reuse_across_turns_stays_exact(runner):
    first, tools, _ = runner.cases["free_text"]
    results = {}
    for speculative in (False, True):
        session = runner.session("free_text", speculative)  # reuse=True, the prompt in its cache
        one = runner.stream(first, tools, None, speculative, 24, session=session)
        _assert_cache_consistent(one, runner.model.prompt_tokens(first, tools))
        second = first + [{"role": "assistant", "content": one.text},
                          {"role": "user", "content": "Now give the fixed version of the function."}]
        two = runner.stream(second, tools, None, speculative, 32, session=session)
        _assert_cache_consistent(two, runner.model.prompt_tokens(second, tools))
        assert two.stats.reused_tokens >= one.stats.prompt_tokens  # the first turn's cache was kept
        results[speculative] = (one, two)
    (plain1, plain2), (spec1, spec2) = results[False], results[True]
    assert spec1.tokens == plain1.tokens and spec1.text == plain1.text
    assert spec2.tokens == plain2.tokens and spec2.text == plain2.text
    assert spec2.finish == plain2.finish
    assert spec2.stats.forward_passes < spec2.stats.generated_tokens or spec2.stats.generated_tokens < 4


# ----------------------------------------------------------------------------- sampling, real model

@pytest.mark.real_model
def test_sampled_speculative_generation_is_seeded_and_obeys_the_constraint(runner):
    """With sampling every draft is verified by the Chooser after the constraint's mask."""
    from mlxagent.core.formats import format_for
    from mlxagent.model.kv_cache import SamplingSettings

    messages, tools, constraint = runner.cases["read_call_forced"]
    sampling = SamplingSettings(temperature=0.8, top_p=0.95, seed=8)
    runs = []
    for _ in range(2):
        session = runner.session("read_call_forced", True)
        tokens: list[int] = []
        with _recording(tokens):
            chunks = list(runner.model.stream(messages, tools, constraint=constraint, max_tokens=40,
                                              session=session, sampling=sampling))
        runs.append((tokens, "".join(c.text for c in chunks), chunks[-1]))
    (tokens, text, last), (again, _, _) = runs
    assert tokens == again  # the seed fixes the draws
    assert text.startswith("<tool_call>") and last.stats.jump_forward_tokens > 0
    if last.finish_reason == "stop":
        parsed = format_for(runner.model.tool_format).parse(text, constraint.tools)
        assert parsed.errors == [] and len(parsed.calls) == 1, text


# ----------------------------------------------------------------------------- 6. units

def test_prompt_lookup_proposes_what_followed_the_longest_recent_ngram():
    # (1, 2, 3) occurred before, followed by 4; the shorter (2, 3) more recently, followed by 8.
    lookup = PromptLookup([1, 2, 3, 4, 9, 2, 3, 8, 1, 2, 3])
    assert lookup.draft(3) == ([4, 9, 2], 3)
    assert lookup.draft(1) == ([4], 3)
    assert lookup.draft(100) == ([4, 9, 2, 3, 8, 1, 2, 3], 3)  # up to the end of the context
    assert lookup.draft(0) == ([], 0)
    # Of equal n-grams the most recent occurrence is taken.
    assert PromptLookup([1, 2, 5, 1, 2, 6, 1, 2]).draft(2) == ([6, 1], 2)
    # The n-gram is at most max_ngram long: (1..5) matched the older occurrence, (2..5) matches
    # the more recent one.
    tokens = [1, 2, 3, 4, 5, 70, 9, 2, 3, 4, 5, 80, 1, 2, 3, 4, 5]
    assert PromptLookup(tokens, max_ngram=5).draft(1) == ([70], 5)
    assert PromptLookup(tokens, max_ngram=4).draft(1) == ([80], 4)


def test_prompt_lookup_never_matches_the_suffix_with_itself():
    assert PromptLookup([1, 2]).draft(4) == ([], 0)
    assert PromptLookup([5, 6, 7, 8, 9]).draft(4) == ([], 0)
    lookup = PromptLookup([3, 4, 5, 6])
    lookup.extend([3, 4])
    assert lookup.draft(2) == ([5, 6], 2)  # the earlier (3, 4), not the suffix
    # A repeated token: the earlier (7, 7) is followed by the last 7.
    assert PromptLookup([7, 7, 7]).draft(4) == ([7], 2)


def test_prompt_lookup_respects_min_ngram():
    tokens = [1, 5, 9, 4, 1]  # only the 1-gram (1,) matches
    assert PromptLookup(tokens).draft(3) == ([], 0)  # MIN_NGRAM is 2
    assert PromptLookup(tokens, min_ngram=1).draft(3) == ([5, 9, 4], 1)
    assert PromptLookup([1, 2, 3, 0, 2, 3], min_ngram=3).draft(2) == ([], 0)
    assert PromptLookup([1, 2, 3, 0, 2, 3], min_ngram=2).draft(2) == ([0, 2], 2)


def test_prompt_lookup_extend_is_incremental_and_extra_is_not_kept():
    tokens = [4, 8, 15, 16, 23, 42, 8, 15, 16, 99, 4, 8]
    whole = PromptLookup(tokens)
    pieces = PromptLookup(tokens[:3])
    for at in range(3, len(tokens), 2):
        pieces.extend(tokens[at:at + 2])
    assert pieces.tokens == whole.tokens and pieces.index == whole.index
    assert whole.draft(3) == ([15, 16, 23], 2)
    # `extra`: tokens drafted before these (the grammar's forced ones) extend the context for
    # the match, but are not taken into it.
    lookup = PromptLookup([1, 2, 3, 4, 9, 1])
    assert lookup.draft(3) == ([], 0)
    assert lookup.draft(3, extra=[2, 3]) == ([4, 9, 1], 3)
    assert lookup.tokens == [1, 2, 3, 4, 9, 1]
    assert lookup.draft(3) == ([], 0)


def test_adaptive_draft_length_grows_on_full_acceptance_and_shrinks_on_a_miss():
    length = AdaptiveDraftLength(start=4, low=2, high=10)
    length.update(4, 4)
    assert length.k == 6
    length.update(6, 6)
    length.update(8, 8)
    assert length.k == 10
    length.update(10, 10)
    assert length.k == 10  # capped
    length.update(10, 3)
    assert length.k == 4  # the kept ones and one more
    length.update(4, 0)
    assert length.k == 2  # never below `low`
    length.update(0, 0)
    assert length.k == 2  # nothing drafted: no news
    length.update(2, 5)
    assert length.k == 4
    assert AdaptiveDraftLength(start=3, low=1, high=5).k == 3


# ----------------------------------------------------------------------------- 7. sampling

LOGITS = [2.0, 1.2, 0.9, 0.0, -0.5, -1.5]
DRAWS = 4000
TOLERANCE = 0.03


def _softmax(values: list[float]) -> list[float]:
    import math

    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def _frequencies(chooser, draft, seed: int = 1234) -> list[float]:
    import mlx.core as mx

    mx.random.seed(seed)
    logits = mx.array([LOGITS])
    counts = [0] * len(LOGITS)
    for _ in range(DRAWS):
        counts[chooser.choose(logits, draft)] += 1
    return [c / DRAWS for c in counts]


def _max_error(freqs: list[float], expected: list[float]) -> float:
    return max(abs(f - e) for f, e in zip(freqs, expected))


class _AlwaysAccepts(Chooser):
    def choose(self, logits, draft):
        return draft if draft is not None else super().choose(logits, None)


class _ResamplesFromTheFullDistribution(Chooser):
    def choose(self, logits, draft):
        accepted = super().choose(logits, draft)
        return accepted if accepted == draft else super().choose(logits, None)


@pytest.mark.parametrize("draft", [None, 1, 0, 5])
def test_verified_sampling_keeps_the_models_distribution(draft):
    from mlxagent.model.kv_cache import SamplingSettings

    expected = _softmax(LOGITS)
    freqs = _frequencies(Chooser(SamplingSettings(temperature=1.0)), draft)
    assert _max_error(freqs, expected) < TOLERANCE, (freqs, expected)


def test_verified_sampling_with_temperature_and_top_k():
    from mlxagent.model.kv_cache import SamplingSettings

    chooser = Chooser(SamplingSettings(temperature=1.0, top_k=2))
    top2 = _softmax(LOGITS[:2]) + [0.0] * (len(LOGITS) - 2)
    for draft in (1, 0, 3, None):  # in the top 2, the best, outside the top 2, none
        freqs = _frequencies(chooser, draft)
        assert freqs[2:] == [0.0] * (len(LOGITS) - 2), (draft, freqs)
        assert _max_error(freqs, top2) < TOLERANCE, (draft, freqs, top2)
    hot = Chooser(SamplingSettings(temperature=0.5))
    expected = _softmax([v / 0.5 for v in LOGITS])
    assert _max_error(_frequencies(hot, 1), expected) < TOLERANCE


def test_the_distribution_check_catches_a_wrong_acceptance_rule():
    """The check above is strong enough: rules that bias toward the draft fail it."""
    from mlxagent.model.kv_cache import SamplingSettings

    expected = _softmax(LOGITS)
    settings = SamplingSettings(temperature=1.0)
    assert _max_error(_frequencies(_AlwaysAccepts(settings), 1), expected) > 5 * TOLERANCE
    assert _max_error(_frequencies(_ResamplesFromTheFullDistribution(settings), 1), expected) > 3 * TOLERANCE


def test_greedy_chooser_takes_the_argmax_whatever_the_draft():
    import mlx.core as mx

    from mlxagent.model.kv_cache import SamplingSettings

    chooser = Chooser(SamplingSettings(temperature=0.0))
    logits = mx.array([LOGITS])
    assert [chooser.choose(logits, d) for d in (None, 0, 3)] == [0, 0, 0]
    assert chooser.greedy_many(mx.array([LOGITS, LOGITS[::-1]])) == [0, 5]


# ----------------------------------------------------------------------------- 8. the switch

def test_speculative_is_on_by_default_and_a_setting():
    from mlxagent import paths
    from mlxagent.config import Settings, load_settings

    assert Settings().speculative is True
    file = paths.config_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("speculative = false\n", encoding="utf-8")
    settings, warnings = load_settings()
    assert settings.speculative is False and warnings == []
    file.write_text('speculative = "no"\n', encoding="utf-8")
    settings, warnings = load_settings()
    assert settings.speculative is True  # the default
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "speculative" in warnings[0] and "'no'" in warnings[0] and "true or false" in warnings[0]


def test_cli_accepts_no_speculative(capsys):
    from mlxagent.cli import _sub_parser, _tui_parser

    assert _sub_parser().parse_args(["run", "x", "--no-speculative"]).no_speculative is True
    assert _sub_parser().parse_args(["run", "x"]).no_speculative is False
    assert _sub_parser().parse_args(["serve", "--no-speculative"]).no_speculative is True
    assert _tui_parser().parse_args([".", "--no-speculative"]).no_speculative is True
    with pytest.raises(SystemExit):
        _sub_parser().parse_args(["run", "--help"])
    assert "--no-speculative" in capsys.readouterr().out


@pytest.mark.real_model
def test_session_takes_the_loaded_models_setting_unless_told(real_model):
    from mlxagent.model.kv_cache import ChatSession

    saved = real_model.speculative
    try:
        real_model.speculative = True
        assert ChatSession(real_model).speculative is True
        assert ChatSession(real_model, speculative=False).speculative is False
        real_model.speculative = False
        assert ChatSession(real_model).speculative is False
        assert ChatSession(real_model, speculative=True).speculative is True
        session = ChatSession(real_model, speculative=True)
        session.speculative = None
        assert session.speculative is False
        assert session.fork(0) is None  # no cache yet
    finally:
        real_model.speculative = saved
