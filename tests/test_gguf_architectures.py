"""Synthetic GGUF files, one per supported architecture, imported and checked against the
mlx-lm model they were made from.

Each test builds a tiny random-weight mlx-lm model (the reference), writes its weights the
way llama.cpp's convert_hf_to_gguf.py would (its tensor names; llama's q/k rows permuted for
GGML's interleaved rope; Gemma's RMSNorm weights stored as 1 + w; Phi-3's fused qkv and
gate_up as they are), imports the file with `import_gguf` and compares logits.

Three variants per architecture:
- F32: every tensor float32, read by MLX's own GGUF loader. The import must reproduce the
  reference to float rounding.
- Q8_0 (ffn_down Q4_0): types MLX's loader keeps quantised as they are (groups of 32, bits
  mixed in one file): the reference's values again, float16 scales aside.
- Q5_0: the matrices (embedding included) stored as Q5_0, but ffn_down kept F16, as
  llama.cpp keeps some. MLX cannot read Q5_0 itself, so gguf dequantises each tensor and the
  importer requantises to MLX affine 8-bit in groups of 64 (F16 stays float). The
  reference holds gguf's dequantisation of exactly the bytes written, so what is left is
  MLX's requantisation only; a `dequantized=True` import of the same file must again match
  to float rounding.

The transform the file gets here is written from llama.cpp's converter, not from the
importer's tables, so a wrong name, layout or config key in the importer shows as a logit
mismatch.
"""

from __future__ import annotations

import json
from typing import Callable

import mlx.core as mx
import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFWriter, TokenType
from gguf.quants import dequantize, quantize
from mlx.utils import tree_flatten

from mlxagent.errors import UnsupportedModelError
from mlxagent.model.gguf_import import MANIFEST, SUPPORTED_ARCHITECTURES, import_gguf
from mlxagent.model.runtime import load_model_dir

HIDDEN, HEADS, KV_HEADS, FFN = 128, 4, 2, 256
CONTEXT = 2048
SEQ = 32

# F32 import (and the float32 import of a Q5_0 file) vs the reference: measured max |diff|
# 0 to 1.2e-6 (llama's permuted q/k under the traditional rope round differently).
F32_ATOL = 1e-4
# Q5_0 -> MLX 8-bit requantisation vs the dequantised Q5_0 reference, over 32 positions:
# measured min per-position correlation 0.99959 (gemma3) to 0.99991 (llama); top-1
# agreement 0.97 (one miss, a near-tie; over other prompts 0.94 to 1.0, every miss a top-2
# margin < 0.03); max |diff| 0.048 (llama) to 0.086 (gemma3) of the logits' standard
# deviation. Requantising to 4 bits instead (the old mlx_bits for Q5_0) measured correlation
# 0.87 to 0.97 and max |diff| 0.8 to 1.6 std: far outside these bounds.
Q_MIN_CORR = 0.999
Q_MIN_AGREE = 0.8
Q_MAX_DIFF_PER_STD = 0.25
# Q8_0/Q4_0 read by MLX itself vs their dequantisation: no requantisation, only float16
# scales and activations; measured max |diff| 1.3e-3 (llama) to 7.8e-3 (gemma3), min
# correlation 0.9999968 (gemma3), every top-1 equal.
NATIVE_Q_ATOL = 2e-2


# ---------------------------------------------------------------------------------------------
# the tokenizer: SentencePiece ("llama" kind) with byte fallback

def _vocab() -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    pieces = (["▁"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
              + ["th", "he", "▁t", "▁th", "▁the", "the", "▁a", "in", "▁in", "er", "an", "on", "ab", "bc"])
    tokens += pieces
    types += [TokenType.NORMAL] * len(pieces)
    # SentencePiece scores: longer pieces, then later ones, rank higher (merged first): "bc"
    # above "ab", so that "abc" splits as a + bc only if the scores are honoured
    scores = [0.0] * 259 + [-100.0 + len(p) * 10 + i * 0.01 for i, p in enumerate(pieces)]
    return tokens, scores, [int(t) for t in types]


TOKENS, SCORES, TOKEN_TYPES = _vocab()
VOCAB = len(TOKENS)  # 300
BOS, EOS = 1, 2


# ---------------------------------------------------------------------------------------------
# the architectures: the mlx-lm reference config, and how llama.cpp names and lays out tensors

def _permute(w: np.ndarray, n_head: int, n_head_kv: int | None) -> np.ndarray:
    """llama.cpp convert_hf_to_gguf.py, LlamaModel.permute (applied to q with (n_head, n_head),
    to k with (n_head, n_kv_head))."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
            .swapaxes(1, 2)
            .reshape(w.shape))


_LAYER_NAMES = {  # mlx-lm -> llama.cpp, inside model.layers.N / blk.N
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "self_attn.qkv_proj": "attn_qkv",
    "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    "mlp.gate_up_proj": "ffn_up",
}
_GEMMA_LAYER_NAMES = {**_LAYER_NAMES, "post_attention_layernorm": "post_attention_norm",
                      "pre_feedforward_layernorm": "ffn_norm",
                      "post_feedforward_layernorm": "post_ffw_norm"}


def _gguf_name(mlx_name: str, arch: str) -> str:
    stem, suffix = mlx_name.rsplit(".", 1)
    if stem == "model.embed_tokens":
        return f"token_embd.{suffix}"
    if stem == "model.norm":
        return f"output_norm.{suffix}"
    if stem == "lm_head":
        return f"output.{suffix}"
    _, _, layer, part = stem.split(".", 3)
    names = _GEMMA_LAYER_NAMES if arch == "gemma3" else _LAYER_NAMES
    return f"blk.{layer}.{names[part]}.{suffix}"


def _config(arch: str) -> tuple[str, dict]:
    """(mlx-lm module, reference config) for each architecture: qwen3 and gemma3 with a head
    size other than hidden / heads (as their real models have), gemma3 with 6 layers so that
    one is global (rope_theta) and the others local (a sliding window shorter than the prompt)."""
    base = {"hidden_size": HIDDEN, "num_hidden_layers": 2, "intermediate_size": FFN,
            "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "vocab_size": VOCAB,
            "rms_norm_eps": 1e-5, "max_position_embeddings": CONTEXT, "rope_theta": 10000.0}
    if arch == "llama":
        return "llama", {**base, "model_type": "llama", "head_dim": 32, "tie_word_embeddings": False,
                         "rope_theta": 500000.0}
    if arch == "qwen2":
        return "qwen2", {**base, "model_type": "qwen2", "tie_word_embeddings": True, "rope_theta": 1e6,
                         "rms_norm_eps": 1e-6}
    if arch == "qwen3":
        return "qwen3", {**base, "model_type": "qwen3", "head_dim": 64, "tie_word_embeddings": True,
                         "rope_theta": 1e6, "rms_norm_eps": 1e-6}
    if arch == "gemma3":
        return "gemma3_text", {**base, "model_type": "gemma3_text", "num_hidden_layers": 6,
                               "head_dim": 64, "query_pre_attn_scalar": 64, "rope_theta": 1e6,
                               "rope_local_base_freq": 10000.0, "sliding_window": 8,
                               "sliding_window_pattern": 6, "rms_norm_eps": 1e-6}
    if arch == "phi3":
        return "phi3", {**base, "model_type": "phi3", "tie_word_embeddings": False,
                        "original_max_position_embeddings": CONTEXT}
    raise AssertionError(arch)


def _reference_model(arch: str, seed: int, **overrides):
    import importlib

    module_name, config = _config(arch)
    config = {**config, **overrides}
    module = importlib.import_module(f"mlx_lm.models.{module_name}")
    mx.random.seed(seed)
    model = module.Model(module.ModelArgs.from_dict(config))
    if arch == "gemma3":
        model.sanitize({})  # no lm_head: Gemma ties its output to the embedding
    # random norm weights too (they start as ones, or zeros for Gemma's 1 + w), so that a norm
    # mapped to the wrong place, or not shifted back, shows
    rng = np.random.default_rng(seed)
    norms = []
    for name, p in tree_flatten(model.parameters()):
        if name.endswith("norm.weight"):
            centre = 0.0 if arch == "gemma3" else 1.0
            norms.append((name, mx.array(rng.uniform(centre - 0.5, centre + 0.5, p.shape).astype(np.float32))))
    model.load_weights(norms, strict=False)
    mx.eval(model.parameters())
    return model, config


def _to_gguf(arch: str, name: str, w: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """llama.cpp's transform of one reference tensor, and its inverse."""
    if arch == "llama" and (name.endswith("q_proj.weight") or name.endswith("k_proj.weight")):
        kv = HEADS if ".q_proj" in name else KV_HEADS
        rows = _permute(np.arange(w.shape[0]), HEADS, kv)  # a permutation of the rows
        back = np.argsort(rows)
        return w[rows], lambda v: v[back]
    if arch == "gemma3" and name.endswith("norm.weight"):
        return w + np.float32(1.0), lambda v: v - np.float32(1.0)
    return w, lambda v: v


F32, F16 = GGMLQuantizationType.F32, GGMLQuantizationType.F16
Q4_0, Q5_0, Q8_0 = GGMLQuantizationType.Q4_0, GGMLQuantizationType.Q5_0, GGMLQuantizationType.Q8_0


def _all_f32(gname: str) -> GGMLQuantizationType:
    return F32


def _q5_0(gname: str) -> GGMLQuantizationType:
    """The requantising path: matrices Q5_0 but ffn_down, left F16 as llama.cpp leaves some."""
    if gname.endswith("ffn_down.weight"):
        return F16
    return F32 if "norm" in gname or gname.endswith(".bias") else Q5_0


def _q8_0(gname: str) -> GGMLQuantizationType:
    """MLX's own quantised types: matrices Q8_0 but ffn_down Q4_0 (bits mixed in one file)."""
    if gname.endswith("ffn_down.weight"):
        return Q4_0
    return F32 if "norm" in gname or gname.endswith(".bias") else Q8_0


def _write_gguf(path, arch: str, model, config: dict, kind=_all_f32, extra: dict | None = None):
    """Write `model` as llama.cpp would, each tensor as `kind(gguf name)`, and `extra` uint32
    metadata. Loads into `model` what a reader of the file gets back (the dequantised values)."""
    writer = GGUFWriter(str(path), arch)
    for key, value in (extra or {}).items():
        writer.add_uint32(key, value)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_freq_base(config["rope_theta"])
    if arch != "phi3":  # one file without it: the head size is then hidden / heads
        writer.add_key_length(config.get("head_dim") or HIDDEN // HEADS)
        writer.add_value_length(config.get("head_dim") or HIDDEN // HEADS)
    if arch == "gemma3":
        writer.add_sliding_window(config["sliding_window"])
    if arch == "phi3":
        writer.add_uint32(f"{arch}.rope.scaling.original_context_length", CONTEXT)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(TOKENS)
    writer.add_token_scores(SCORES)
    writer.add_token_types(TOKEN_TYPES)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(BOS)
    writer.add_eos_token_id(EOS)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(arch != "gemma3")  # Gemma's SentencePiece adds no leading "▁"

    read_back = []
    for name, p in tree_flatten(model.parameters()):
        w = np.array(p, dtype=np.float32)
        data, back = _to_gguf(arch, name, w)
        gname = _gguf_name(name, arch)
        qtype = kind(gname)
        if qtype == F32:
            writer.add_tensor(gname, np.ascontiguousarray(data))
            read_back.append((name, mx.array(back(data))))
        elif qtype == F16:
            half = data.astype(np.float16)
            writer.add_tensor(gname, half)
            read_back.append((name, mx.array(back(half.astype(np.float32)))))
        else:
            q = quantize(data, qtype)
            writer.add_tensor(gname, q, raw_dtype=qtype)
            read_back.append((name, mx.array(back(dequantize(q, qtype).reshape(data.shape)))))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    model.load_weights(read_back)
    mx.eval(model.parameters())


def _logits(model, ids) -> np.ndarray:
    return np.array(model(mx.array([ids]))[0].astype(mx.float32))


def _compare(got: np.ndarray, ref: np.ndarray) -> tuple[float, float, float]:
    """(max |diff|, min per-position correlation, argmax agreement)."""
    corr = min(np.corrcoef(got[i], ref[i])[0, 1] for i in range(len(ref)))
    agree = float(np.mean(got.argmax(-1) == ref.argmax(-1)))
    return float(np.abs(got - ref).max()), float(corr), agree


ARCHS = ["llama", "qwen2", "qwen3", "gemma3", "phi3"]


def _prompt(seed: int) -> list[int]:
    rng = np.random.default_rng(seed + 1000)
    return [BOS, *rng.integers(3, VOCAB, SEQ - 1).tolist()]


def _check_config(arch: str, model_dir, reference_config: dict) -> dict:
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == reference_config["model_type"]
    for key in ("hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads",
                "num_key_value_heads", "vocab_size", "max_position_embeddings"):
        assert config[key] == reference_config[key], key
    assert config["rope_theta"] == reference_config["rope_theta"]
    assert config["head_dim"] == (reference_config.get("head_dim") or HIDDEN // HEADS)
    # only llama's q/k arrive permuted for the interleaved (traditional) rope
    assert config["rope_traditional"] is (arch == "llama")
    assert config["tie_word_embeddings"] is (arch in ("qwen2", "qwen3", "gemma3"))
    assert config["eos_token_id"] == [EOS]
    if arch == "gemma3":
        assert config["query_pre_attn_scalar"] == 64  # the head size, not hidden / heads (32)
        assert config["sliding_window"] == 8 and config["sliding_window_pattern"] == 6
        assert config["rope_local_base_freq"] == 10000.0
    return config


@pytest.mark.parametrize("arch", ARCHS)
def test_f32_gguf_imports_to_the_same_model(arch, tmp_path):
    seed = ARCHS.index(arch)
    reference, reference_config = _reference_model(arch, seed)
    path = tmp_path / f"tiny-{arch}-f32.gguf"
    _write_gguf(path, arch, reference, reference_config)

    model_dir = import_gguf(path, dest_root=tmp_path / "models")
    config = _check_config(arch, model_dir, reference_config)
    assert "quantization" not in config
    manifest = json.loads((model_dir / MANIFEST).read_text())
    assert manifest["architecture"] == arch and manifest["quantisation"] == ["F32"]
    assert "requantised" not in manifest  # MLX's own loader read it

    loaded = load_model_dir(model_dir, dequantize=False)
    ids = _prompt(seed)
    got, ref = _logits(loaded.model, ids), _logits(reference, ids)
    diff, corr, agree = _compare(got, ref)
    print(f"{arch} F32: max|diff| {diff:.2e} min corr {corr:.6f} agree {agree:.2f}")
    np.testing.assert_allclose(got, ref, atol=F32_ATOL, rtol=0)


def _tiny_file(arch, tmp_path, label, quantiser):
    """A seeded reference model of `arch`, written to a GGUF with `quantiser`, and its prompt."""
    seed = ARCHS.index(arch)
    reference, reference_config = _reference_model(arch, seed)
    path = tmp_path / f"tiny-{arch}-{label}.gguf"
    _write_gguf(path, arch, reference, reference_config, quantiser)
    return path, reference, reference_config, _prompt(seed)


@pytest.mark.parametrize("arch", ARCHS)
def test_q5_0_gguf_requantises_close_to_the_dequantised_model(arch, tmp_path, exact_products):
    path, reference, reference_config, ids = _tiny_file(arch, tmp_path, "q5_0", _q5_0)
    ref = _logits(reference, ids)

    model_dir = import_gguf(path, dest_root=tmp_path / "models")
    config = _check_config(arch, model_dir, reference_config)
    assert config["quantization"] == {"group_size": 64, "bits": 8}  # Q5_0 is never narrowed to 4 bits
    manifest = json.loads((model_dir / MANIFEST).read_text())
    assert manifest["quantisation"] == ["F16", "F32", "Q5_0"]
    assert manifest["requantised"] == {"group_size": 64, "bits": 8}
    loaded = load_model_dir(model_dir, dequantize=False)
    assert not loaded.dequantized
    layer = loaded.model.layers[0]
    assert layer.mlp.down_proj.weight.dtype == mx.float16  # the F16 matrix stays a float Linear
    assert getattr(layer.self_attn.o_proj, "bits", None) == 8
    got = _logits(loaded.model, ids)
    diff, corr, agree = _compare(got, ref)
    print(f"{arch} Q5_0->8bit: max|diff| {diff:.3f} ({diff / ref.std():.3f} std) "
          f"min corr {corr:.6f} agree {agree:.2f}")
    assert corr > Q_MIN_CORR and agree >= Q_MIN_AGREE
    assert diff <= Q_MAX_DIFF_PER_STD * ref.std()

    # the same file imported in float32 (gguf's dequantisation, no requantisation): exact
    exact_dir = import_gguf(path, dest_root=tmp_path / "models", dequantized=True)
    assert exact_dir != model_dir
    assert "quantization" not in json.loads((exact_dir / "config.json").read_text())
    exact = _logits(load_model_dir(exact_dir, dequantize=False).model, ids)
    print(f"{arch} Q5_0 dequantised import: max|diff| {np.abs(exact - ref).max():.2e}")
    np.testing.assert_allclose(exact, ref, atol=F32_ATOL, rtol=0)

    if arch == "llama":
        # loaded dequantised (what the CPU backend does for small models): the same values
        flat = load_model_dir(model_dir, dequantize=True)
        assert flat.dequantized
        assert all(p.dtype == mx.float32 for _, p in tree_flatten(flat.model.parameters()))
        flat_diff, flat_corr, flat_agree = _compare(_logits(flat.model, ids), got)
        print(f"llama Q5_0 loaded dequantised vs quantised: max|diff| {flat_diff:.2e} corr {flat_corr:.7f}")
        # not bit-equal: the quantised embedding hands float16 activations on (its scales are
        # float16); measured max |diff| 2.9e-3, correlation 0.9999987, one near-tie top-1 of 32
        assert flat_diff < 1e-2 and flat_corr > 0.99999 and flat_agree >= Q_MIN_AGREE


@pytest.mark.parametrize("arch", ARCHS)
def test_q8_0_and_q4_0_gguf_are_read_natively_without_requantising(arch, tmp_path, exact_products):
    path, reference, reference_config, ids = _tiny_file(arch, tmp_path, "q8_0", _q8_0)

    model_dir = import_gguf(path, dest_root=tmp_path / "models")
    config = _check_config(arch, model_dir, reference_config)
    # MLX's loader keeps GGML's blocks of 32; the most common width goes in the config
    assert config["quantization"] == {"group_size": 32, "bits": 8}
    manifest = json.loads((model_dir / MANIFEST).read_text())
    assert manifest["quantisation"] == ["F32", "Q4_0", "Q8_0"] and "requantised" not in manifest
    loaded = load_model_dir(model_dir, dequantize=False)
    layer = loaded.model.layers[0]
    assert (layer.mlp.down_proj.bits, layer.self_attn.o_proj.bits) == (4, 8)  # mixed, per tensor
    got, ref = _logits(loaded.model, ids), _logits(reference, ids)
    diff, corr, agree = _compare(got, ref)
    print(f"{arch} Q8_0/Q4_0 native: max|diff| {diff:.2e} min corr {corr:.7f} agree {agree:.2f}")
    # the same values as gguf's dequantisation, float16 scales and activations aside
    assert diff < NATIVE_Q_ATOL and corr > 0.99999 and agree >= Q_MIN_AGREE


def test_phi3_partial_rotary_from_rope_dimension_count(tmp_path):
    reference, reference_config = _reference_model("phi3", 4, partial_rotary_factor=0.75)
    path = tmp_path / "tiny-phi4-mini.gguf"
    # llama.cpp's Phi-3 converter: rope_dims = int(partial_rotary_factor * n_embd) // n_head
    _write_gguf(path, "phi3", reference, reference_config,
                extra={"phi3.rope.dimension_count": int(0.75 * HIDDEN) // HEADS})
    loaded = load_model_dir(import_gguf(path, dest_root=tmp_path / "models"), dequantize=False)
    ids = _prompt(4)
    np.testing.assert_allclose(_logits(loaded.model, ids), _logits(reference, ids), atol=F32_ATOL, rtol=0)


def test_tokenizer_is_rebuilt_from_the_sentencepiece_vocabulary(tmp_path):
    reference, config = _reference_model("llama", 0)
    path = tmp_path / "tiny-llama.gguf"
    _write_gguf(path, "llama", reference, config)
    tok = load_model_dir(import_gguf(path, dest_root=tmp_path / "models"), dequantize=False).tokenizer
    ids = {t: i for i, t in enumerate(TOKENS)}
    assert tok.encode("the a") == [BOS, ids["▁the"], ids["▁a"]]
    # no piece for "é": its UTF-8 bytes, as byte tokens
    assert tok.encode("é") == [BOS, ids["▁"], 3 + 0xC3, 3 + 0xA9]
    assert tok.decode(tok.encode("the cab é")[1:]) == "the cab é"
    assert tok.encode("xabc") == [BOS, ids["▁"], ids["x"], ids["a"], ids["bc"]]
    assert tok.eos_token_id == EOS


def test_gemma_tokenizer_adds_no_space_prefix(tmp_path):
    reference, config = _reference_model("gemma3", 3)
    path = tmp_path / "tiny-gemma3.gguf"
    _write_gguf(path, "gemma3", reference, config)
    tok = load_model_dir(import_gguf(path, dest_root=tmp_path / "models"), dequantize=False).tokenizer
    ids = {t: i for i, t in enumerate(TOKENS)}
    assert tok.encode("the") == [BOS, ids["the"]]
    assert tok.encode("a the") == [BOS, ids["a"], ids["▁the"]]


def test_unsupported_architecture_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "tiny-mamba.gguf"
    writer = GGUFWriter(str(path), "mamba")
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(1)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(TOKENS)
    writer.add_tensor("token_embd.weight", np.zeros((VOCAB, HIDDEN), np.float32))
    writer.add_tensor("blk.0.ssm_in.weight", np.zeros((2 * HIDDEN, HIDDEN), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    dest_root = tmp_path / "models"
    with pytest.raises(UnsupportedModelError) as err:
        import_gguf(path, dest_root=dest_root)
    message = str(err.value)
    assert "\n" not in message
    assert "'mamba'" in message and path.name in message
    assert f"supported: {', '.join(SUPPORTED_ARCHITECTURES)}" in message
    assert {"llama", "qwen2", "qwen3", "gemma3", "phi3"} <= set(SUPPORTED_ARCHITECTURES)
    installed = list(dest_root.glob("gguf-*/" + MANIFEST)) if dest_root.exists() else []
    assert installed == []
    assert not dest_root.exists() or not any(dest_root.iterdir())
