"""The native quantised kernel (mlxagent/model/qkernel) beside the float32 path and llama.cpp, one run.

    .venv/bin/python bench/kernel.py [--quick] [--json bench/results/kernel.json]

1. Products, per distinct layer shape of the default model (SmolLM2-135M, 4-bit, groups of 32), 1, 4
   and 16 rows of x: the native kernel, MLX's own quantized_matmul, and the float32 matmul on the
   dequantised weights (OpenBLAS): microseconds a product and GB/s of weight bytes read.
2. The model: plain prefill and decode tok/s with the native kernel (4-bit weights resident, native
   rope and attention), with float32 weights (dequantised at load) and the native rope and
   attention, the native model alone in a child process (the figure beside llama.cpp's, which is
   measured alone too: in this process the float32 copy is resident as well and slows native
   decoding), in a child process with MLXAGENT_NATIVE_KERNEL=0 (the path before: float32, MLX's
   own ops), and in a child with MLXAGENT_KERNEL_NO_PREFETCH=1 (the kernel without its prefetch
   hints), with MLXAGENT_KERNEL_NO_FUSED_LAYER=1 (a decoder layer as its thirteen nodes, not
   layer.cpp's four) and with MLXAGENT_KERNEL_NO_FUSED_MLP=1 (gate, up and swiglu as three nodes,
   not mlp.cpp's one; no fused layer either); resident weight bytes of each beside the GGUF file's size; whether greedy decoding
   gives the same text; the share of a decode step spent inside the products; the other ops of a
   step one by one, MLX's and the native rope and attention.
   A prompt of agent size (1,536 tokens) prefilled in 256-token chunks with the native attention in
   prefill chunks and with MLX's own, interleaved in one process. Decode steps at 400 and 1,600 tokens
   with the float16 KV cache and a float32 one, interleaved (and a child with MLXAGENT_KV_FLOAT32=1).
3. Speculative decoding on recorded agent traffic (bench/speculation.py) on the native path.
4. llama.cpp (llama-cpp-python, n_threads=2, same GGUF) in a child process of the same run.
`--ops` times only the other ops of a decode step (rope, attention, norms: what the kernel does not
compute). `--quick` runs the decode shapes of part 1 and the decode figures of part 2 only, and prints last
`decode: native N tok/s, f32 M tok/s[, llama.cpp L tok/s]` (N: the native model alone in a child
process, as llama.cpp's figure is measured).
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
from runtime import long_prompt, runtime_generate  # noqa: E402

from mlxagent.blas import reexec_openblas  # noqa: E402


def _time(fn, reps: int) -> float:
    import mlx.core as mx

    mx.eval(fn())
    best = []
    for _ in range(3):
        start = time.perf_counter()
        mx.eval([fn() for _ in range(reps)])
        best.append((time.perf_counter() - start) / reps)
    return min(best)


def products(native_model, rows: tuple[int, ...]) -> list[dict]:
    """Each distinct (N, K) of the model's quantised layers: one product on every layer of that
    shape in turn (30 of most), so that the weights stream from memory as in a decode step instead
    of sitting in the cache; time per product."""
    import mlx.core as mx

    from mlxagent.model import qkernel

    kernel = qkernel.status().module
    shapes: dict[tuple[int, int], list] = {}
    for _, layer in native_model.named_modules():
        if getattr(layer, "native_kernel", False) and "scales" in layer:
            n, k = layer["scales"].shape[0], layer["scales"].shape[1] * layer.group_size
            shapes.setdefault((n, k), []).append(layer)
    out = []
    for (n, k), layers in shapes.items():
        dense = [mx.dequantize(l["weight"], l["scales"], l["biases"], group_size=l.group_size,
                               bits=l.bits).astype(mx.float32) for l in layers]
        mx.eval(dense)
        q_bytes = sum(l["weight"].nbytes + l["scales"].nbytes + l["biases"].nbytes for l in layers)
        f_bytes = sum(d.nbytes for d in dense)
        for m in rows:
            x = mx.random.normal((1, m, k))
            mx.eval(x)
            reps = max(2, min(20, int(2e8 / (n * k * max(m, 4) * len(layers)))))
            t_native = _time(lambda: [kernel.native_qmm(x, l["weight"], l["scales"], l["biases"], l.group_size,
                                                        l.bits) for l in layers], reps) / len(layers)
            t_mlx = _time(lambda: [mx.quantized_matmul(x, l["weight"], l["scales"], l["biases"], transpose=True,
                                                       group_size=l.group_size, bits=l.bits) for l in layers[:4]],
                          2) / min(4, len(layers))
            t_f32 = _time(lambda: [x @ d.T for d in dense], reps) / len(layers)
            out.append({"n": n, "k": k, "rows": m, "layers": len(layers), "native_us": t_native * 1e6,
                        "mlx_q_us": t_mlx * 1e6, "f32_us": t_f32 * 1e6,
                        "native_gbps": q_bytes / len(layers) / t_native / 1e9,
                        "f32_gbps": f_bytes / len(layers) / t_f32 / 1e9})
        del dense
    return out


def resident_bytes(model) -> int:
    from mlx.utils import tree_flatten

    return sum(v.nbytes for _, v in tree_flatten(model.parameters()))


def step_share(loaded, prompt: str, steps: int = 30) -> dict:
    """Time of a decode step on a warm 400-token cache, and how much of it the kernel takes."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    from mlxagent.model import qkernel

    kernel = qkernel.status().module
    model = loaded.model
    cache = make_prompt_cache(model)
    ids = loaded.tokenizer.encode(prompt)[:400]
    mx.eval(model(mx.array(ids)[None], cache=cache))
    token = mx.array([[ids[-1]]])
    for _ in range(3):
        mx.eval(model(token, cache=cache))
    kernel.stats(True)
    start = time.perf_counter()
    for _ in range(steps):
        mx.eval(model(token, cache=cache))
    step = (time.perf_counter() - start) / steps
    inside = kernel.stats(True)
    return {"step_ms": step * 1e3, "kernel_ms": inside["seconds"] / steps * 1e3,
            "kernel_calls": inside["calls"] / steps}


def other_ops(context: int = 400, layers: int = 30) -> dict:
    """What the rest of a decode step costs: each of the model's other per-layer ops (SmolLM2's
    shapes: 9 query heads, 3 KV heads of 64, hidden 576, MLP 1536) run once per layer, as a chain
    of 30 in one evaluation: milliseconds per token."""
    import mlx.core as mx
    import mlx.nn as nn

    def chain(make) -> float:
        best = []
        for _ in range(5):
            start = time.perf_counter()
            mx.eval([make(i) for i in range(layers)])
            best.append(time.perf_counter() - start)
        return min(best) * 1e3

    q = [mx.random.normal((1, 9, 1, 64)) for _ in range(layers)]
    k = [mx.random.normal((1, 3, context, 64)) for _ in range(layers)]
    v = [mx.random.normal((1, 3, context, 64)) for _ in range(layers)]
    x = [mx.random.normal((1, 1, 576)) for _ in range(layers)]
    h = [mx.random.normal((1, 1, 1536)) for _ in range(layers)]
    buf = [mx.zeros((1, 3, context + 112, 64)) for _ in range(layers)]
    norm = mx.ones((576,))
    mx.eval(q, k, v, x, h, buf, norm)

    def update(i):
        buf[i][..., context:context + 1, :] = q[i][:, :3]
        return buf[i][..., :context + 1, :]

    from mlxagent.model import qkernel

    native = qkernel.status().module
    return {
        "rope (queries and keys)": 2 * chain(lambda i: mx.fast.rope(q[i], 64, traditional=False, base=100000.0,
                                                                    scale=1.0, offset=context)),
        "  native rope": 2 * chain(lambda i: native.native_rope(q[i], 64, False, 100000.0, 1.0, context)),
        "attention (sdpa)": chain(lambda i: mx.fast.scaled_dot_product_attention(q[i], k[i], v[i], scale=0.125,
                                                                                 mask=None)),
        "  native attention": chain(lambda i: native.native_attention(q[i], k[i], v[i], 0.125, False)),
        "rms norms (2)": 2 * chain(lambda i: mx.fast.rms_norm(x[i], norm, 1e-5)),
        "swiglu": chain(lambda i: nn.silu(h[i]) * h[i]),
        "KV cache updates (2)": 2 * chain(update),
        "residual adds (2)": 2 * chain(lambda i: x[i] + x[i]),
    }


def long_prefill(loaded, tokens: int = 1536, chunk: int = 256, rounds: int = 2) -> dict:
    """A prompt of agent size (`tokens`) prefilled in `chunk`-token chunks, as the runtime does, with
    the native attention in mlx-lm's helper (qkernel.PREFILL_ATTENTION_ROWS) and with MLX's own
    (the limit set to 0), interleaved: ms a chunk, tok/s over all."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    from mlxagent.model import qkernel

    ids = loaded.tokenizer.encode(long_prompt(loaded.tokenizer, 400))
    ids = (ids * (tokens // max(1, len(ids)) + 1))[:tokens]
    shipped = qkernel.PREFILL_ATTENTION_ROWS
    runs: dict[str, list] = {"native": [], "mlx": []}
    try:
        for _ in range(rounds):
            for name, limit in (("native", shipped), ("mlx", 0)):
                qkernel.PREFILL_ATTENTION_ROWS = limit
                cache = make_prompt_cache(loaded.model)
                times = []
                for at in range(0, len(ids), chunk):
                    start = time.perf_counter()
                    out = loaded.model(mx.array(ids[at:at + chunk])[None], cache=cache)
                    mx.eval(out, [c.state for c in cache])
                    times.append(time.perf_counter() - start)
                runs[name].append(times)
    finally:
        qkernel.PREFILL_ATTENTION_ROWS = shipped
    out = {"tokens": len(ids), "chunk": chunk}
    for name, all_times in runs.items():
        best = min(all_times, key=sum)
        out[name] = {"chunk_ms": [round(t * 1e3, 1) for t in best], "tps": len(ids) / sum(best)}
    return out


def long_decode(loaded, contexts=(400, 1600), steps: int = 32, rounds: int = 3) -> dict:
    """Decode steps after a prompt of each context length with the float16 KV cache the runtime
    makes (qkernel/half_cache.py) and with mlx-lm's float32 KVCache, interleaved: median ms a step,
    and whether the greedy tokens of the two caches were the same."""
    import mlx.core as mx
    from mlx_lm.models.cache import KVCache, make_prompt_cache

    out: dict = {}
    for context in contexts:
        ids = loaded.tokenizer.encode(long_prompt(loaded.tokenizer, 400))
        ids = (ids * (context // max(1, len(ids)) + 1))[:context]
        times: dict[str, list] = {"float16": [], "float32": []}
        tokens: dict[str, list] = {}
        for _ in range(rounds):
            for name in times:
                cache = (make_prompt_cache(loaded.model) if name == "float16"
                         else [KVCache() for _ in loaded.model.layers])
                for at in range(0, len(ids), 256):
                    mx.eval(loaded.model(mx.array(ids[at:at + 256])[None], cache=cache), [c.state for c in cache])
                token, seen = ids[-1], []
                for _ in range(steps):
                    start = time.perf_counter()
                    logits = loaded.model(mx.array([[token]]), cache=cache)
                    token = int(mx.argmax(logits[0, -1]).item())
                    times[name].append(time.perf_counter() - start)
                    seen.append(token)
                tokens[name] = seen
        out[context] = {name: statistics.median(t) * 1e3 for name, t in times.items()}
        out[context]["same_tokens"] = tokens["float16"] == tokens["float32"]
    return out


def greedy_text(loaded, prompt: str, tokens: int = 48) -> str:
    from mlxagent.model.kv_cache import ChatSession

    return "".join(chunk.text for chunk in ChatSession(loaded, reuse=False, speculative=False)
                   .generate(prompt, max_tokens=tokens))


def plain_child(rounds: int, env: dict | None = None) -> dict:
    """The path before the kernel, in a child process with MLXAGENT_NATIVE_KERNEL=0 (no native
    code at all: float32 weights, MLX's own rope and attention), or the child with `env` ({}: the
    product as it ships, alone in its process as llama.cpp's row is); median tok/s of `rounds` runs."""
    import json
    import os
    import subprocess

    proc = subprocess.run([sys.executable, __file__, "--plain-child", str(rounds)], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env if env is not None else {"MLXAGENT_NATIVE_KERNEL": "0"})})
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["no output"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _plain_child_main(rounds: int) -> int:
    import json

    from mlxagent.model import default_model
    from mlxagent.model.runtime import load_model_dir

    loaded = load_model_dir(default_model.ensure(), default_model.NAME)
    prompt = long_prompt(loaded.tokenizer)
    runs = [runtime_generate(loaded, prompt, 64) for _ in range(rounds)]
    print(json.dumps({"prefill_tps": statistics.median(r["prefill_tps"] for r in runs),
                      "decode_tps": statistics.median(r["decode_tps"] for r in runs),
                      "resident_bytes": resident_bytes(loaded.model), "dequantized": loaded.dequantized,
                      "native_layers": loaded.native_layers}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default="bench/results/kernel.json")
    parser.add_argument("--quick", action="store_true", help="decode shapes and decode tok/s only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", action="store_true", help="only the other ops of a decode step")
    parser.add_argument("--plain-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_child:
        return _plain_child_main(args.plain_child)
    if args.ops:
        ops = other_ops()
        for name, ms in ops.items():
            print(f"{name:26} {ms:6.2f} ms a token")
        print(f"{'together (MLX ops)':26} {sum(v for n, v in ops.items() if not n.startswith(' ')):6.2f} ms a token")
        return 0

    from mlxagent.model import default_model, qkernel
    from mlxagent.model.runtime import load_model_dir

    kernel = qkernel.status()
    print(f"kernel: {kernel.line}")
    if not kernel.available:
        print("decode: native not available")
        return 1
    model_dir = default_model.ensure()
    native = load_model_dir(model_dir, default_model.NAME, dequantize=False)
    f32 = load_model_dir(model_dir, default_model.NAME, dequantize=True)
    prompt = long_prompt(native.tokenizer)
    results: dict = {"kernel": kernel.line, "native_layers": native.native_layers,
                     "prompt_tokens": len(native.tokenizer.encode(prompt))}

    rows = (1,) if args.quick else (1, 4, 16)
    table = results["products"] = products(native.model, rows)
    print(f"\n{'N':>6} {'K':>5} {'rows':>4} {'native us':>10} {'GB/s':>6} {'mlx q us':>9} {'f32 us':>8} {'GB/s':>6}")
    for r in table:
        print(f"{r['n']:6d} {r['k']:5d} {r['rows']:4d} {r['native_us']:10.1f} {r['native_gbps']:6.1f} "
              f"{r['mlx_q_us']:9.1f} {r['f32_us']:8.1f} {r['f32_gbps']:6.1f}")

    # "native" as it ships (x in float); "native_int8": the same model with x as int8 blocks
    # (MLXAGENT_KERNEL_INT8=1, AVX2 only; the switch is read when a product runs).
    shipped = kernel.module.activations()
    configs = {"native": native, "f32": f32}
    if kernel.fast:
        configs = {"native": native, "native_int8": native, "f32": f32}
    runs: dict[str, list] = {name: [] for name in configs}
    for _ in range(args.rounds):  # interleaved, so that a slow minute of the machine hits all
        for name, loaded in configs.items():
            kernel.module.set_activations("int8" if name == "native_int8" else "float")
            runs[name].append(runtime_generate(loaded, prompt, 64))
    kernel.module.set_activations(shipped)
    model_rows = results["model"] = {}
    for name, loaded in configs.items():
        model_rows[name] = {
            "prefill_tps": statistics.median(r["prefill_tps"] for r in runs[name]),
            "decode_tps": statistics.median(r["decode_tps"] for r in runs[name]),
            "resident_bytes": resident_bytes(loaded.model)}
    # The figure set beside llama.cpp's: the native model alone in a child, as llama.cpp runs. In
    # this process the float32 copy (538 MB) is resident too, which slows native decoding by
    # 10-20% on this machine (BENCHMARKS.md, 2026-12-08); no user's process holds both.
    alone = plain_child(args.rounds, {})
    if "error" not in alone:
        model_rows["native_alone"] = alone
    before = plain_child(args.rounds)
    if "error" not in before:
        model_rows["before"] = before
    if kernel.fast and not args.quick:
        unhinted = plain_child(args.rounds, {"MLXAGENT_KERNEL_NO_PREFETCH": "1"})
        if "error" not in unhinted:
            model_rows["no_prefetch"] = unhinted
    if kernel.fast:
        for name, switch in (("no_fused_layer", "MLXAGENT_KERNEL_NO_FUSED_LAYER"),
                             ("no_fused_mlp", "MLXAGENT_KERNEL_NO_FUSED_MLP"), ("kv_float32", "MLXAGENT_KV_FLOAT32")):
            unfused = plain_child(args.rounds, {switch: "1"})
            if "error" not in unfused:
                model_rows[name] = unfused
    labels = {"native": "native: 4-bit kernel, rope, attn, norm",
              "native_alone": "native, alone in a child (beside llama.cpp)",
              "native_int8": "native, int8 x (MLXAGENT_KERNEL_INT8=1)", "f32": "float32 weights + native rope, attn, norm",
              "before": "before: float32, MLX's own ops (child)",
              "no_prefetch": "native without prefetch hints (child)",
              "no_fused_layer": "native without the fused layer (child)",
              "no_fused_mlp": "native without fused MLP or layer (child)",
              "kv_float32": "native with a float32 KV cache (child)"}
    print(f"\n{'':42} {'prefill tok/s':>13} {'decode tok/s':>12} {'resident MB':>11}")
    for name, row in model_rows.items():
        print(f"{labels[name]:42} {row['prefill_tps']:13.1f} {row['decode_tps']:12.1f} "
              f"{row['resident_bytes'] / 1e6:11.1f}")
    gguf = default_model.gguf_path()
    results["gguf_bytes"] = gguf.stat().st_size
    print(f"GGUF file: {results['gguf_bytes'] / 1e6:.1f} MB; native resident / GGUF = "
          f"{model_rows['native']['resident_bytes'] / results['gguf_bytes']:.2f}x")
    share = results["step"] = step_share(native, prompt)
    print(f"decode step at 400 tokens: {share['step_ms']:.1f} ms, of which {share['kernel_ms']:.1f} ms in "
          f"{share['kernel_calls']:.0f} kernel calls")

    llama = None
    if not args.quick:
        long = results["long_prefill"] = long_prefill(native)
        for name in ("native", "mlx"):
            row = long[name]
            print(f"prefill of {long['tokens']} tokens in {long['chunk']}-token chunks, {name} attention: "
                  f"{row['tps']:.1f} tok/s, ms a chunk {row['chunk_ms']}")
        kv = results["kv_cache"] = long_decode(native)
        for context, row in kv.items():
            print(f"decode step at {context} tokens: float16 KV cache {row['float16']:.1f} ms, float32 "
                  f"{row['float32']:.1f} ms ({row['float32'] / row['float16']:.2f}x); same greedy tokens: "
                  f"{row['same_tokens']}")
        ops = results["other_ops_ms"] = other_ops()
        print("the rest of a decode step, per token (30 layers, 400-token context): " +
              ", ".join(f"{name} {ms:.1f} ms" for name, ms in ops.items()))
        prompts = [long_prompt(native.tokenizer, 60), native.tokenizer.apply_chat_template(
            [{"role": "user", "content": "Write a Python function that reverses a string."}],
            add_generation_prompt=True, tokenize=False)]
        same = results["greedy_identical"] = [greedy_text(native, p) == greedy_text(f32, p) for p in prompts]
        print(f"greedy text native == f32: {same}")
        import speculation

        chosen = speculation.workloads()
        spec = results["speculative_native"] = speculation.compare(native, chosen)
        print(f"\nspeculative decoding on the native path (effective decode tok/s):")
        for name, row in spec.items():
            print(f"  {name:14} plain {row['plain_tps']:6.1f}  speculative {row['speculative_tps']:6.1f}  "
                  f"({row['speedup']:.2f}x, {row['tokens_per_pass']:.2f} tok/pass, identical {row['identical']})")
        long_tokens = list(native.tokenizer.encode(prompt, add_special_tokens=False))
        llama = results["llama_cpp"] = speculation.llama_cpp(gguf, long_tokens)
        if isinstance(llama, str):
            print(f"llama.cpp: {llama}")
            llama = None
        else:
            ratios = results["vs_llama_cpp"] = {
                "native_plain_decode": model_rows.get("native_alone", model_rows["native"])["decode_tps"]
                / llama["decode_tps"],
                "native_plain_decode_in_process": model_rows["native"]["decode_tps"] / llama["decode_tps"],
                "native_prefill": model_rows["native"]["prefill_tps"] / llama["prefill_tps"],
                **({"before_plain_decode": model_rows["before"]["decode_tps"] / llama["decode_tps"],
                    "before_prefill": model_rows["before"]["prefill_tps"] / llama["prefill_tps"]}
                   if "before" in model_rows else {}),
                **{f"native_{name}_speculative": row["speculative_tps"] / llama["decode_tps"]
                   for name, row in spec.items()}}
            print(f"\nllama.cpp {llama['version']} (n_threads=2): prefill {llama['prefill_tps']:.1f}, decode "
                  f"{llama['decode_tps']:.1f} tok/s")
            print("ratios / llama.cpp plain: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    write_results(results, args.json)
    tail = f", llama.cpp {llama['decode_tps']:.1f} tok/s" if llama else ""
    f32 = model_rows.get("before", model_rows["f32"])
    int8 = (f", native int8 x {model_rows['native_int8']['decode_tps']:.1f} tok/s"
            if "native_int8" in model_rows else "")
    shown = model_rows.get("native_alone", model_rows["native"])
    print(f"decode: native {shown['decode_tps']:.1f} tok/s{int8}, f32 {f32['decode_tps']:.1f} tok/s{tail}")
    return 0


if __name__ == "__main__":
    reexec_openblas(__file__)
    raise SystemExit(main())
