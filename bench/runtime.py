"""Runtime benchmark on the embedded default model, all in one process.

    .venv/bin/python bench/runtime.py [--json bench/results/runtime.json]

1. prefill/decode tok/s: plain `mlx_lm.stream_generate` (the model as `mlx_lm.load` gives it)
   versus mlxagent's runtime (`load_model_dir` + `ChatSession.generate`) on the same prompt;
2. a scripted 10-turn agent conversation: tokens prefilled with session KV reuse versus
   re-prefilling every turn, against the final context length;
3. per-token overhead of mlxagent's generator versus `mlx_lm.stream_generate` on the same weights;
4. speculative decoding (bench/speculation.py) on recorded agent traffic: plain vs speculative
   effective decode, tokens per forward pass, token-for-token identity; llama.cpp's plain prefill
   and decode on the same GGUF in the same run (`make bench-deps` installs it); the cost of one
   decode step, part by part.
The mlxagent rows run on whatever the runtime chooses: the native 4-bit kernel where it is built
(model/qkernel; bench/kernel.py sets it beside the float32 path), else float32 weights.
`--speculation-only` runs part 4 alone.
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
import speculation  # noqa: E402

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


def runtime_generate(loaded, prompt: str, max_tokens: int, speculative: bool = False, **kw) -> dict:
    from mlxagent.model.kv_cache import ChatSession

    session = ChatSession(loaded, reuse=False, speculative=speculative)
    last = None
    for last in session.generate(prompt, max_tokens=max_tokens, **kw):
        pass
    s = last.stats
    return {"prefill_tps": s.prefill_tps, "decode_tps": s.decode_tps, "tokens": s.generated_tokens,
            "peak_gb": s.peak_memory_gb}


TOOL_RESULT = "\n".join(f"{i:4d}: def helper_{i}(x):  return x * {i}  # keeps the tool result realistic"
                        for i in range(1, 9))


def conversation(loaded, reuse: bool, turns: int = 10, max_tokens: int = 12) -> dict:
    from mlxagent.model.kv_cache import ChatSession

    session = ChatSession(loaded, reuse=reuse, speculative=False)
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

    from mlxagent.model.kv_cache import ChatSession

    ours, theirs = [], []
    for _ in range(rounds):
        last = None
        for last in stream_generate(loaded.model, loaded.tokenizer, prompt, max_tokens=max_tokens):
            pass
        theirs.append(last.generation_tps)
        session = ChatSession(loaded, reuse=False, speculative=False)
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
    from mlxagent.model.kv_cache import ChatSession

    tools = [spec.schema() for spec in ALL_TOOLS]
    rows: dict[str, list[float]] = {"none": [], "dormant": [], "forced": []}
    for _ in range(rounds):
        for kind in rows:
            processors = None if kind == "none" else [
                ToolCallConstraint(loaded.tokenizer, "prompted_hermes", tools, forced=kind == "forced")]
            session = ChatSession(loaded, reuse=False, speculative=False)
            for chunk in session.generate(prompt, max_tokens=max_tokens, logits_processors=processors):
                pass
            rows[kind].append(chunk.stats.decode_tps)
    med = {k: statistics.median(v) for k, v in rows.items()}
    return {"none_tps": med["none"], "dormant_tps": med["dormant"], "forced_tps": med["forced"],
            "dormant_overhead_pct": (med["none"] / med["dormant"] - 1) * 100,
            "forced_overhead_pct": (med["none"] / med["forced"] - 1) * 100}


def classic_sections(results: dict, loaded, model_dir, prompt: str, max_tokens: int) -> None:
    results["plain_mlx_lm"] = plain_mlx_lm(model_dir, prompt, max_tokens)
    runtime_generate(loaded, prompt, 4)  # warm up
    results["runtime"] = runtime_generate(loaded, prompt, max_tokens)
    p, r = results["plain_mlx_lm"], results["runtime"]
    results["prefill_ratio"] = r["prefill_tps"] / p["prefill_tps"]
    results["decode_ratio"] = r["decode_tps"] / p["decode_tps"]
    reuse = conversation(loaded, reuse=True)
    fresh = conversation(loaded, reuse=False)
    results["conversation"] = {"reuse": reuse, "no_reuse": fresh,
                               "reuse_vs_final_context": reuse["prefilled"] / reuse["final_context"],
                               "no_reuse_vs_final_context": fresh["prefilled"] / fresh["final_context"]}
    results["overhead"] = overhead(loaded, prompt, max_tokens)
    results["constraint"] = constraint_overhead(loaded, prompt, max_tokens)

    print(f"backend {results['backend']}, BLAS {results['blas']}, runtime dequantised: {loaded.dequantized}, "
          f"layers on the native kernel: {loaded.native_layers}")
    print(f"prompt: {results['prompt_tokens']} tokens, max {max_tokens} new tokens\n")
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


def speculation_sections(results: dict, loaded, prompt: str) -> None:
    from mlxagent.model import default_model

    chosen = speculation.workloads()
    spec = results["speculative"] = speculation.compare(loaded, chosen)
    long_tokens = list(loaded.tokenizer.encode(prompt, add_special_tokens=False))
    edit_tokens = speculation.prompt_tokens(loaded, chosen["forced_edit"])
    llama = results["llama_cpp"] = speculation.llama_cpp(default_model.gguf_path(), long_tokens)
    plain_row = runtime_generate(loaded, prompt, 64)
    results["runtime_plain_same_run"] = plain_row
    print(f"\nspeculative decoding (effective decode tok/s = tokens delivered per second of decode):")
    print(f"{'workload':14}{'prompt':>7}{'tokens':>7}{'plain':>8}{'spec':>8}{'x':>6}{'tok/pass':>9}"
          f"{'lookup':>7}{'jumpfw':>7}{'identical':>10}")
    for name, row in spec.items():
        print(f"{name:14}{row['prompt_tokens']:7d}{row['generated']:7d}{row['plain_tps']:8.1f}"
              f"{row['speculative_tps']:8.1f}{row['speedup']:5.2f}x{row['tokens_per_pass']:9.2f}"
              f"{row['kept_lookup']:7d}{row['kept_jump_forward']:7d}{str(row['identical']):>10}")
    if isinstance(llama, str):
        print(f"llama.cpp: {llama}")
    else:
        print(f"\nllama.cpp {llama['version']} (n_threads=2), {llama['prompt_tokens']}-token prompt: prefill "
              f"{llama['prefill_tps']:.1f} tok/s, decode {llama['decode_tps']:.1f} tok/s")
        ratios = results["vs_llama_cpp"] = {
            "prefill": plain_row["prefill_tps"] / llama["prefill_tps"],
            "plain_decode": plain_row["decode_tps"] / llama["decode_tps"],
            **{f"{name}_effective_decode": row["speculative_tps"] / llama["decode_tps"] for name, row in spec.items()},
        }
        print(f"mlxagent plain on the same prompt: prefill {plain_row['prefill_tps']:.1f}, decode "
              f"{plain_row['decode_tps']:.1f} tok/s")
        print("ratios mlxagent / llama.cpp: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    step = results["step_breakdown"] = speculation.step_breakdown(loaded, edit_tokens)
    print(f"\none decode step at context {step['context']} (ms, median):")
    print("  forward over n tokens: " + ", ".join(f"{n}: {step[f'forward_{n}_ms']:.1f}" for n in (1, 2, 4, 8, 11, 16)))
    print(f"  argmax {step['argmax_ms']:.3f}; logsumexp+argmax {step['logsumexp_argmax_ms']:.3f}, compiled "
          f"{step['logsumexp_argmax_compiled_ms']:.3f}; llguidance mask {step['llguidance_mask_ms']:.3f}; "
          f"detokenizer {step['detokenizer_ms_per_token']:.4f} per token")
    print(f"  OpenBLAS threads: {step['openblas_threads']}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="bench/results/runtime.json")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--speculation-only", action="store_true")
    args = parser.parse_args()

    from mlxagent.model import backend, default_model
    from mlxagent.model.runtime import load_model_dir

    model_dir = default_model.ensure()
    loaded = load_model_dir(model_dir, default_model.NAME)
    prompt = long_prompt(loaded.tokenizer)
    results: dict = {"backend": backend.backend_name(), "blas": backend.blas_name(),
                     "dequantized": loaded.dequantized, "native_layers": loaded.native_layers, "prompt_tokens": len(loaded.tokenizer.encode(prompt))}

    if not args.speculation_only:
        classic_sections(results, loaded, model_dir, prompt, args.max_tokens)
    speculation_sections(results, loaded, prompt)
    write_results(results, args.json)
    return 0


if __name__ == "__main__":
    reexec_openblas(__file__)
    raise SystemExit(main())
