"""The model runtime on the real SmolLM2 model and a tiny random model."""

from __future__ import annotations

import gc
import threading

import mlx.core as mx
import pytest

from mlxagent.model.runtime import ModelRuntime, load_model_dir
from mlxagent.core.textstream import StopStringScanner
from mlxagent.model.kv_cache import ChatSession


def _prompt(model, *turns: str) -> str:
    messages = []
    for i, text in enumerate(turns):
        messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def _collect(chunks):
    text, last = "", None
    for chunk in chunks:
        text += chunk.text
        last = chunk
    return text, last


def test_greedy_answer_from_real_model(real_model):
    session = ChatSession(real_model)
    text, last = _collect(session.generate(_prompt(real_model, "What is the capital of France?"), max_tokens=24))
    assert "Paris" in text
    assert last.finish_reason == "stop"
    stats = last.stats
    assert stats.generated_tokens > 0 and stats.prompt_tokens == stats.prefilled_tokens > 10
    assert stats.prefill_tps > 0 and stats.decode_tps > 0 and stats.peak_memory_gb > 0


def test_session_reuses_kv_cache_and_matches_fresh_generation(real_model):
    reusing = ChatSession(real_model)
    answer, _ = _collect(reusing.generate(_prompt(real_model, "Name a colour."), max_tokens=12))
    second = _prompt(real_model, "Name a colour.", answer, "Name another colour.")
    text_reused, last = _collect(reusing.generate(second, max_tokens=12))
    stats = last.stats
    assert stats.reused_tokens > 10
    assert stats.prefilled_tokens == stats.prompt_tokens - stats.reused_tokens
    assert reusing.prefilled_total < len(reusing.encode(_prompt(real_model, "Name a colour."))) + stats.prompt_tokens

    fresh = ChatSession(real_model, reuse=False)
    text_fresh, last_fresh = _collect(fresh.generate(second, max_tokens=12))
    assert last_fresh.stats.reused_tokens == 0
    assert text_reused == text_fresh  # reuse must not change what a greedy model says


def test_identical_prompt_prefills_one_token(tiny_model_dir):
    session = ChatSession(load_model_dir(tiny_model_dir))
    prompt = list(range(100, 140))
    _collect(session.generate(prompt, max_tokens=3))
    _, last = _collect(session.generate(prompt, max_tokens=3))
    assert last.stats.prefilled_tokens == 1 and last.stats.reused_tokens == 39
    assert session._cache[0].offset == len(session.cached_tokens)


def test_diverging_prompt_trims_cache(tiny_model_dir):
    session = ChatSession(load_model_dir(tiny_model_dir))
    _collect(session.generate(list(range(100, 150)), max_tokens=4))
    _, last = _collect(session.generate(list(range(100, 120)) + [7, 8, 9], max_tokens=4))
    assert last.stats.reused_tokens == 20 and last.stats.prefilled_tokens == 3
    assert session._cache[0].offset == len(session.cached_tokens)


def test_cancel_from_another_thread_stops_within_a_token(tiny_model_dir):
    session = ChatSession(load_model_dir(tiny_model_dir))
    cancel = threading.Event()
    seen_after_cancel = 0
    last = None
    for chunk in session.generate(list(range(100, 110)), max_tokens=500, cancel=cancel):
        if chunk.finish_reason:
            last = chunk
            break
        if cancel.is_set():
            seen_after_cancel += 1
        elif chunk.text:
            threading.Thread(target=cancel.set).start()
            threading.Event().wait(0.05)
    assert last is not None and last.finish_reason == "cancelled"
    assert seen_after_cancel <= 1
    assert last.stats.generated_tokens < 500


def test_cancel_before_start_generates_nothing(tiny_model_dir):
    session = ChatSession(load_model_dir(tiny_model_dir))
    cancel = threading.Event()
    cancel.set()
    text, last = _collect(session.generate([5, 6, 7], max_tokens=50, cancel=cancel))
    assert text == "" and last.finish_reason == "cancelled" and last.stats.generated_tokens == 0


def test_unload_releases_memory(tiny_model_dir, real_model_dir):
    runtime = ModelRuntime()
    gc.collect()
    mx.clear_cache()
    baseline = mx.get_active_memory()
    runtime.load(str(real_model_dir))
    loaded = mx.get_active_memory()
    assert loaded - baseline > 50e6  # the real model's weights are resident
    runtime.load(str(tiny_model_dir))  # switching drops the first model
    switched = mx.get_active_memory()
    assert switched - baseline < 20e6
    runtime.unload()
    assert runtime.current is None
    assert mx.get_active_memory() - baseline < 1e6


@pytest.mark.parametrize(
    "pieces, stops, expected, hit",
    [
        (["Hello ", "wor", "ld<", "/s", "top> tail"], ["</stop>"], "Hello world", True),
        (["a<", "b"], ["<x>"], "a<b", False),
        (["no stops here"], [], "no stops here", False),
        (["xxSTO", "P"], ["STOP", "OP"], "xx", True),
        (["ab", "cOP"], ["STOP", "OP"], "abc", True),
    ],
)
def test_stop_string_scanner(pieces, stops, expected, hit):
    scanner = StopStringScanner(stops)
    out, was_hit = "", False
    for piece in pieces:
        text, was_hit = scanner.feed(piece)
        out += text
        if was_hit:
            break
    if not was_hit:
        out += scanner.flush()
    assert (out, was_hit) == (expected, hit)


def test_stop_strings_end_real_generation(real_model):
    session = ChatSession(real_model)
    text, last = _collect(session.generate(_prompt(real_model, "What is the capital of France?"),
                                           max_tokens=24, stop=["Paris"]))
    assert last.finish_reason == "stop_string"
    assert "Paris" not in text and "capital" in text


@pytest.mark.parametrize("speculative", [False, True])
def test_cancel_during_a_long_prefill_returns_soon_and_leaves_the_cache_consistent(real_model, speculative):
    """Issue 24: a cancelled request stopped only after its whole prefill. Now the cancel is seen
    between prefill chunks, and the cache keeps only what was computed."""
    import time

    long_text = " ".join(f"line {i}: the quick brown fox jumps over the lazy dog." for i in range(300))
    prompt = _prompt(real_model, long_text + "\nSummarise.")
    session = ChatSession(real_model, prefill_step_size=64, speculative=speculative)
    n_prompt = len(session.encode(prompt))
    assert n_prompt > 3000
    checks = 0

    def cancel() -> bool:  # cancelled after a few checks: a chunk or two into the prefill
        nonlocal checks
        checks += 1
        return checks > 3

    began = time.perf_counter()
    text, last = _collect(session.generate(prompt, max_tokens=8, cancel=cancel))
    took = time.perf_counter() - began
    assert last.finish_reason == "cancelled" and text == "" and last.stats.generated_tokens == 0
    done = last.stats.prefilled_tokens
    assert 0 < done <= 192 and done % 64 == 0  # a chunk or two, not the whole prompt
    assert session.prefilled_total == done
    assert len(session.cached_tokens) == session._cache[0].offset == done
    assert took < 5.0

    short = _prompt(real_model, "Name a colour.")
    again, last_again = _collect(session.generate(short, max_tokens=10))
    fresh, _ = _collect(ChatSession(real_model, speculative=speculative).generate(short, max_tokens=10))
    assert again == fresh and last_again.finish_reason in ("stop", "length")
    # The long prompt again: it resumes from the 128 tokens kept, and says what a fresh session says.
    session2 = ChatSession(real_model, prefill_step_size=64, speculative=speculative)
    checks = 0
    _collect(session2.generate(prompt, max_tokens=1, cancel=cancel))
    resumed, last_resumed = _collect(session2.generate(prompt, max_tokens=6))
    assert last_resumed.stats.reused_tokens == done
    whole, _ = _collect(ChatSession(real_model, speculative=speculative).generate(prompt, max_tokens=6))
    assert resumed == whole
