"""Runtime benchmark on the embedded default model, all in one process.

    .venv/bin/python bench/runtime.py [--json bench/results/runtime.json]

1. prefill/decode tok/s: plain `mlx_lm.stream_generate` (the model as `mlx_lm.load` gives it)
   versus mlxagent's runtime (`load_model_dir` + `ChatSession.generate`) on the same prompt;
2. a scripted 10-turn agent conversation: tokens prefilled with session KV reuse versus
   re-prefilling every turn, against the final context length;
3. per-token overhead of mlxagent's generator versus `mlx_lm.stream_generate` on the same weights.
The script re-executes itself with OpenBLAS preloaded, as the `mlxagent` entry point does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402

PROMPT_WORDS = (
    "You are reviewing a Python repository. The file utils.py defines a function that computes the "
    "average of a list of numbers, but it divides by the wrong count when the list has trailing "
    "None values. Explain step by step how you would find the bug, which tools you would use, "
    "and what the corrected function should look like. "
)


def long_prompt(tokenizer, target_tokens: int = 400) -> str:
    text = PROMPT_WORDS
    while len(tokenizer.encode(text)) < target_tokens:
        text += PROMPT_WORDS
    messages = [{"role": "user", "content": text}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def plain_mlx_lm(model_dir: Path, prompt: str, max_tokens: int) -> dict:
    from mlx_lm import load, stream_generate

    model, tokenizer = load(str(model_dir))
    last = None
    for last in stream_generate(model, tokenizer, prompt, max_tokens=max_tokens):
        pass
    return {"prefill_tps": last.prompt_tps, "decode_tps": last.generation_tps, "tokens": last.generation_tokens,
            "peak_gb": last.peak_memory}


def runtime_generate(loaded, prompt: str, max_tokens: int, **kw) -> dict:
    from mlxagent.model.session import ChatSession

    session = ChatSession(loaded, reuse=False)
    last = None
    for last in session.generate(prompt, max_tokens=max_tokens, **kw):
        pass
    s = last.stats
    return {"prefill_tps": s.prefill_tps, "decode_tps": s.decode_tps, "tokens": s.generated_tokens,
            "peak_gb": s.peak_memory_gb}


TOOL_RESULT = "\n".join(f"{i:4d}: def helper_{i}(x):  return x * {i}  # keeps the tool result realistic"
                        for i in range(1, 9))


def conversation(loaded, reuse: bool, turns: int = 10, max_tokens: int = 12) -> dict:
    from mlxagent.model.session import ChatSession

    session = ChatSession(loaded, reuse=reuse)
    tok = loaded.tokenizer
    messages = [
        {"role": "system", "content": "You are a coding agent. Use tools: read_file, search, edit_file."},
        {"role": "user", "content": "Fix the off-by-one error in utils.py and keep the tests passing."},
    ]
    prompt_len = 0
    for turn in range(turns):
        prompt = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        text = ""
        for chunk in session.generate(prompt, max_tokens=max_tokens):
            text += chunk.text
            if chunk.stats:
                prompt_len = chunk.stats.prompt_tokens
        messages.append({"role": "assistant", "content": text})
        messages.append({"role": "user", "content": f"Tool result {turn}:\n{TOOL_RESULT}"})
    final = len(tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))
    return {"prefilled": session.prefilled_total, "final_context": final, "last_prompt": prompt_len}


def overhead(loaded, prompt: str, max_tokens: int, rounds: int = 3) -> dict:
    """Decode tok/s of stream_generate vs our generator on the same (runtime) weights, interleaved."""
    from mlx_lm import stream_generate

    from mlxagent.model.session import ChatSession

    ours, theirs = [], []
    for _ in range(rounds):
        last = None
        for last in stream_generate(loaded.model, loaded.tokenizer, prompt, max_tokens=max_tokens):
            pass
        theirs.append(last.generation_tps)
        session = ChatSession(loaded, reuse=False)
        for chunk in session.generate(prompt, max_tokens=max_tokens):
            pass
        ours.append(chunk.stats.decode_tps)
    t, o = statistics.median(theirs), statistics.median(ours)
    return {"stream_generate_tps": t, "runtime_tps": o, "overhead_pct": (t / o - 1) * 100}


def constraint_overhead(loaded, prompt: str, max_tokens: int, rounds: int = 3) -> dict:
    """Decode tok/s without a logits processor, with a dormant tool-call constraint (plain text),
    and with a forced one (every token masked by llguidance), interleaved."""
    from mlxagent.core.formats import ToolCallConstraint
    from mlxagent.core.tools import ALL_TOOLS
    from mlxagent.model.session import ChatSession

    tools = [spec.schema() for spec in ALL_TOOLS]
    rows: dict[str, list[float]] = {"none": [], "dormant": [], "forced": []}
    for _ in range(rounds):
        for kind in rows:
            processors = None if kind == "none" else [
                ToolCallConstraint(loaded.tokenizer, "prompted_hermes", tools, forced=kind == "forced")]
            session = ChatSession(loaded, reuse=False)
            for chunk in session.generate(prompt, max_tokens=max_tokens, logits_processors=processors):
                pass
            rows[kind].append(chunk.stats.decode_tps)
    med = {k: statistics.median(v) for k, v in rows.items()}
    return {"none_tps": med["none"], "dormant_tps": med["dormant"], "forced_tps": med["forced"],
            "dormant_overhead_pct": (med["none"] / med["dormant"] - 1) * 100,
            "forced_overhead_pct": (med["none"] / med["forced"] - 1) * 100}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="bench/results/runtime.json")
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    from mlxagent.model import backend, default_model
    from mlxagent.model.runtime import load_model_dir

    model_dir = default_model.ensure()
    loaded = load_model_dir(model_dir, default_model.NAME)
    prompt = long_prompt(loaded.tokenizer)
    results: dict = {"backend": backend.backend_name(), "blas": backend.blas_name(),
                     "dequantized": loaded.dequantized, "prompt_tokens": len(loaded.tokenizer.encode(prompt))}

    results["plain_mlx_lm"] = plain_mlx_lm(model_dir, prompt, args.max_tokens)
    runtime_generate(loaded, prompt, 4)  # warm up
    results["runtime"] = runtime_generate(loaded, prompt, args.max_tokens)
    p, r = results["plain_mlx_lm"], results["runtime"]
    results["prefill_ratio"] = r["prefill_tps"] / p["prefill_tps"]
    results["decode_ratio"] = r["decode_tps"] / p["decode_tps"]
    reuse = conversation(loaded, reuse=True)
    fresh = conversation(loaded, reuse=False)
    results["conversation"] = {"reuse": reuse, "no_reuse": fresh,
                               "reuse_vs_final_context": reuse["prefilled"] / reuse["final_context"],
                               "no_reuse_vs_final_context": fresh["prefilled"] / fresh["final_context"]}
    results["overhead"] = overhead(loaded, prompt, args.max_tokens)
    results["constraint"] = constraint_overhead(loaded, prompt, args.max_tokens)

    print(f"backend {results['backend']}, BLAS {results['blas']}, runtime dequantised: {loaded.dequantized}")
    print(f"prompt: {results['prompt_tokens']} tokens, max {args.max_tokens} new tokens\n")
    print(f"{'':28}{'prefill tok/s':>15}{'decode tok/s':>15}{'peak GB':>10}")
    for label, row in (("plain mlx_lm.stream_generate", p), ("mlxagent runtime", r)):
        print(f"{label:28}{row['prefill_tps']:15.1f}{row['decode_tps']:15.1f}{row['peak_gb']:10.2f}")
    print(f"{'ratio':28}{results['prefill_ratio']:14.1f}x{results['decode_ratio']:14.1f}x\n")
    c = results["conversation"]
    print(f"10-turn conversation, final context {reuse['final_context']} tokens:")
    print(f"  prefilled with reuse    {reuse['prefilled']:6d}  ({c['reuse_vs_final_context']:.2f}x final context)")
    print(f"  prefilled without reuse {fresh['prefilled']:6d}  ({c['no_reuse_vs_final_context']:.2f}x final context)\n")
    o = results["overhead"]
    print(f"generator overhead: stream_generate {o['stream_generate_tps']:.1f} tok/s, runtime "
          f"{o['runtime_tps']:.1f} tok/s -> {o['overhead_pct']:+.1f}%")
    k = results["constraint"]
    print(f"llguidance tool-call constraint: none {k['none_tps']:.1f} tok/s, dormant {k['dormant_tps']:.1f} "
          f"({k['dormant_overhead_pct']:+.1f}%), forced {k['forced_tps']:.1f} ({k['forced_overhead_pct']:+.1f}%)")
    write_results(results, args.json)
    return 0


if __name__ == "__main__":
    reexec_openblas(__file__)
    raise SystemExit(main())
