"""Speculative decoding figures for bench/runtime.py (same process, same run).

* `workloads`: real agent traffic (bench/agent_traffic.py, recorded once into
  bench/results/agent_traffic.json): the forced edit after a file read, a read call; plus a
  free-text answer.
* `compare`: per workload, plain (one token per pass) vs speculative decoding, interleaved rounds:
  effective decode tok/s, tokens per forward pass, and whether the tokens are identical.
* `llama_cpp`: llama-cpp-python on the same GGUF, n_threads=2, plain prefill and greedy decode on
  the same prompt tokens; None (with the reason) when it is not installed (`make bench-deps`).
* `step_breakdown`: what one decode step costs, part by part.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAFFIC = ROOT / "bench" / "results" / "agent_traffic.json"
FREE_TEXT = [{"role": "user", "content": "Explain in a few sentences what a sliding window sum is and when "
                                          "you would use one."}]


def workloads() -> dict[str, dict]:
    from agent_traffic import pick, record

    if TRAFFIC.exists():
        calls = json.loads(TRAFFIC.read_text())["calls"]
    else:
        calls = record(request="Read windows.py and fix the off-by-one bug in window_sums.")
        TRAFFIC.write_text(json.dumps({"fixture": "off_by_one", "calls": calls}, indent=1))
    chosen = pick(calls)
    chosen["free_text"] = {"messages": FREE_TEXT, "tools": [], "constraint": None, "max_tokens": 120}
    return chosen


def _generate(model, call: dict, speculative: bool) -> tuple[list[int], str, object]:
    from mlxagent.core.llm import Constraint
    from mlxagent.model.kv_cache import ChatSession

    c = call["constraint"]
    constraint = Constraint(c["tools"], forced=c["forced"]) if c else None
    session = ChatSession(model.loaded, reuse=False, speculative=speculative)
    text, stats = "", None
    for chunk in model.stream(call["messages"], call["tools"], constraint=constraint,
                              max_tokens=call.get("max_tokens") or 256, session=session):
        text += chunk.text
        stats = chunk.stats or stats
    start = stats.prompt_tokens
    return session.cached_tokens[start:start + stats.generated_tokens], text, stats


def _same(a, b) -> bool:
    """Same text, same number of tokens, and the tokens the caches kept agree (a speculative
    session's cache lacks the last token chosen, which was never fed to the model)."""
    n = min(len(a[0]), len(b[0]))
    return a[1] == b[1] and a[2].generated_tokens == b[2].generated_tokens and a[0][:n] == b[0][:n]


def compare(loaded, chosen: dict[str, dict], rounds: int = 3) -> dict[str, dict]:
    from mlxagent.model.chat_model import MlxChatModel

    model = MlxChatModel(loaded)
    out = {}
    for name, call in chosen.items():
        _generate(model, call, True)  # warm-up (grammar compile, caches)
        runs: dict[bool, list] = {False: [], True: []}
        for _ in range(rounds):
            for spec in (False, True):
                runs[spec].append(_generate(model, call, spec))
        plain, fast = runs[False][-1], runs[True][-1]
        st = fast[2]
        row = {
            "prompt_tokens": st.prompt_tokens,
            "generated": st.generated_tokens,
            "plain_tps": statistics.median(r[2].decode_tps for r in runs[False]),
            "speculative_tps": statistics.median(r[2].decode_tps for r in runs[True]),
            "forward_passes": st.forward_passes,
            "tokens_per_pass": st.generated_tokens / max(1, st.forward_passes),
            "drafted": st.draft_tokens,
            "kept_lookup": st.accepted_draft_tokens,
            "kept_jump_forward": st.jump_forward_tokens,
            "identical": all(_same(r, plain) for r in runs[True] + runs[False]),
            "text": fast[1][:200],
        }
        row["speedup"] = row["speculative_tps"] / row["plain_tps"] if row["plain_tps"] else 0.0
        out[name] = row
    return out


def prompt_tokens(loaded, call: dict) -> list[int]:
    from mlxagent.model.chat_model import MlxChatModel

    return MlxChatModel(loaded).prompt_tokens(call["messages"], call["tools"])


def llama_cpp(gguf: Path, prompt: list[int], decode_tokens: int = 64, rounds: int = 3) -> dict | str:
    """Plain prefill and greedy decode tok/s in llama.cpp, or why it was not measured. It runs in
    a child process of this run, so a llama.cpp build that dies (SIGILL) only loses its row."""
    import subprocess
    import sys

    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return "llama-cpp-python is not installed (make bench-deps); row skipped"
    args = json.dumps({"gguf": str(gguf), "prompt": prompt, "decode_tokens": decode_tokens, "rounds": rounds})
    proc = subprocess.run([sys.executable, __file__, "--llama-cpp"], input=args, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        return f"llama.cpp died (exit {proc.returncode}): {(proc.stderr.strip().splitlines() or [''])[-1][:200]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _llama_cpp_child(spec: dict) -> dict:
    import numpy as np
    from llama_cpp import Llama, __version__

    llm = Llama(model_path=spec["gguf"], n_ctx=4096, n_threads=2, n_threads_batch=2, n_batch=512,
                verbose=False)
    prompt, n = spec["prompt"], spec["decode_tokens"]
    vocab = llm.n_vocab()

    def last_argmax() -> int:  # the logits of the last token evaluated (the only row kept)
        return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,))))

    prefill, decode = [], []
    for _ in range(spec["rounds"]):
        llm.reset()
        began = time.perf_counter()
        llm.eval(prompt)
        prefill.append(len(prompt) / (time.perf_counter() - began))
        token = last_argmax()
        began = time.perf_counter()
        for _ in range(n - 1):
            llm.eval([token])
            token = last_argmax()
        decode.append((n - 1) / (time.perf_counter() - began))
    return {"version": __version__, "prefill_tps": statistics.median(prefill),
            "decode_tps": statistics.median(decode), "prompt_tokens": len(prompt), "n_threads": 2}


def _timed(fn, repeat: int = 20) -> float:
    """Median milliseconds of fn()."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def step_breakdown(loaded, prompt: list[int]) -> dict:
    """One decode step, part by part, on a warm cache holding `prompt`."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache, trim_prompt_cache

    from mlxagent.core.formats import ToolCallConstraint
    from mlxagent.core.tools import ALL_TOOLS

    model, tok = loaded.model, loaded.tokenizer
    cache = make_prompt_cache(model)
    for i in range(0, len(prompt), 256):
        model(mx.array(prompt[i:i + 256])[None], cache=cache)
        mx.eval([c.state for c in cache])
    base = cache[0].offset

    def forward(n: int):
        def run():
            logits = model(mx.array(prompt[-n:])[None], cache=cache)
            mx.eval(logits)
            trim_prompt_cache(cache, cache[0].offset - base)
        return run

    out: dict = {"context": base}
    for n in (1, 2, 4, 8, 11, 16):
        out[f"forward_{n}_ms"] = _timed(forward(n))
    logits = model(mx.array(prompt[-1:])[None], cache=cache)[:, -1, :]
    mx.eval(logits)
    trim_prompt_cache(cache, cache[0].offset - base)
    out["argmax_ms"] = _timed(lambda: mx.argmax(logits, axis=-1).item(), 200)
    compiled = mx.compile(lambda x: mx.argmax(x - mx.logsumexp(x, axis=-1, keepdims=True), axis=-1))
    plain = lambda x: mx.argmax(x - mx.logsumexp(x, axis=-1, keepdims=True), axis=-1)  # noqa: E731
    out["logsumexp_argmax_ms"] = _timed(lambda: plain(logits).item(), 200)
    out["logsumexp_argmax_compiled_ms"] = _timed(lambda: compiled(logits).item(), 200)
    # The llguidance mask on a forced call (matcher step + bitmask + mx.where).
    tools = [spec.schema() for spec in ALL_TOOLS]
    proc = ToolCallConstraint(tok, "prompted_hermes", tools, forced=True)
    call = tok.encode('<tool_call>\n{"name": "read_file", "arguments": {"path": "windows.py"}}',
                      add_special_tokens=False)
    seen = mx.array(prompt[-4:])
    proc(seen, logits)
    began = time.perf_counter()
    for i in range(1, len(call)):
        mx.eval(proc(mx.array(prompt[-4:] + call[:i]), logits))
    out["llguidance_mask_ms"] = (time.perf_counter() - began) * 1000 / (len(call) - 1)
    # Detokenizer cost per token (the streaming detokenizer the session uses).
    detok = tok.detokenizer
    sample = prompt[:400]

    def detokenize():
        detok.reset()
        for t in sample:
            detok.add_token(t)
            detok.last_segment
    out["detokenizer_ms_per_token"] = _timed(detokenize, 5) / len(sample)
    out["openblas_threads"] = openblas_threads(forward(1), forward(11))
    return out


def openblas_threads(one, eleven) -> dict:
    """Forward-pass milliseconds with OpenBLAS at 1 and 2 threads (set in-process through its C API)."""
    import ctypes

    from mlxagent.model.backend import loaded_openblas

    lib_path = loaded_openblas()
    if not lib_path:
        return {"note": "OpenBLAS is not loaded"}
    lib = ctypes.CDLL(lib_path)
    before = lib.openblas_get_num_threads()
    out = {"default": before}
    for n in (1, 2):
        lib.openblas_set_num_threads(n)
        out[f"{n}_thread_forward_1_ms"] = _timed(one)
        out[f"{n}_thread_forward_11_ms"] = _timed(eleven)
    lib.openblas_set_num_threads(before)
    return out


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--llama-cpp"]:
        print(json.dumps(_llama_cpp_child(json.loads(sys.stdin.read()))))
