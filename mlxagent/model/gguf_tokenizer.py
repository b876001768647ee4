"""Build a Hugging Face `tokenizers` tokenizer from GGUF metadata.

GGUF files carry the vocabulary (and, for BPE, the merges) but not a
tokenizer.json. We rebuild one so that mlx-lm's normal loader (transformers'
fast tokenizer, chat template, streaming detokenizer) works on imported models.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnsupportedModelError

# GGUF token types (llama.cpp's llama_token_type)
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6

# Pre-tokenizer split patterns by `tokenizer.ggml.pre`, as the original
# tokenizer.json files of these families define them.
_LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if hasattr(value, "tolist"):
        return value.tolist()
    return list(value)


def _as_int(value: Any, default: int | None = None) -> int | None:
    if value is None:
        return default
    if hasattr(value, "item"):
        return int(value.item())
    return int(value)


def _byte_level_pre_tokenizer(pre: str):
    from tokenizers import Regex, pre_tokenizers

    if pre in ("smollm", "starcoder", "refact", "gpt2", "default", ""):
        # GPT-2 regex with single digits (StarCoder / SmolLM family)
        return pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    pattern = {
        "llama-bpe": _LLAMA3_PATTERN,
        "llama3": _LLAMA3_PATTERN,
        "dbrx": _LLAMA3_PATTERN,
        "smaug-bpe": _LLAMA3_PATTERN,
        "qwen2": _QWEN2_PATTERN,
        "deepseek-r1-qwen": _QWEN2_PATTERN,
    }.get(pre)
    if pattern is None:
        raise UnsupportedModelError(f"GGUF tokenizer pre-tokenizer '{pre}' is not supported")
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def _spm_merges(tokens: list[str], scores: list[float]) -> list[tuple[str, str]]:
    """Recover BPE merges from a SentencePiece vocabulary and its scores.

    A merge (a, b) exists when a, b and a+b are all in the vocabulary; merges
    are ranked by the score of the merged piece, as SentencePiece ranks them.
    """
    vocab = {t: i for i, t in enumerate(tokens)}
    ranked = []
    for piece, pid in vocab.items():
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab:
                ranked.append((-scores[pid], vocab[left], vocab[right], left, right))
    ranked.sort()
    return [(left, right) for _, _, _, left, right in ranked]


def build_tokenizer(metadata: dict[str, Any]):
    """Return (tokenizers.Tokenizer, special-token settings) from GGUF metadata."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, processors

    kind = str(metadata.get("tokenizer.ggml.model", ""))
    tokens = [str(t) for t in _as_list(metadata.get("tokenizer.ggml.tokens"))]
    if not tokens:
        raise UnsupportedModelError("GGUF file has no tokenizer vocabulary")
    types = _as_list(metadata.get("tokenizer.ggml.token_type")) or [_NORMAL] * len(tokens)
    vocab = {t: i for i, t in enumerate(tokens)}

    def token_at(key: str) -> str | None:
        tid = _as_int(metadata.get(key))
        return tokens[tid] if tid is not None and 0 <= tid < len(tokens) else None

    bos, eos = token_at("tokenizer.ggml.bos_token_id"), token_at("tokenizer.ggml.eos_token_id")
    unk, pad = token_at("tokenizer.ggml.unknown_token_id"), token_at("tokenizer.ggml.padding_token_id")
    add_bos = bool(_as_int(metadata.get("tokenizer.ggml.add_bos_token"), 0))

    if kind == "gpt2":
        merges = [tuple(m.split(" ", 1)) for m in _as_list(metadata.get("tokenizer.ggml.merges"))]
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
        tok.pre_tokenizer = _byte_level_pre_tokenizer(str(metadata.get("tokenizer.ggml.pre", "default")))
        tok.decoder = decoders.ByteLevel()
    elif kind == "llama":
        scores = [float(s) for s in _as_list(metadata.get("tokenizer.ggml.scores"))] or [0.0] * len(tokens)
        tok = Tokenizer(
            models.BPE(
                vocab=vocab,
                merges=_spm_merges(tokens, scores),
                unk_token=unk,
                fuse_unk=True,
                byte_fallback=True,
            )
        )
        # SentencePiece marks a word start with "▁"; most files also add one before the text
        # (Llama 2, Mistral), Gemma's do not.
        space_prefix = bool(_as_int(metadata.get("tokenizer.ggml.add_space_prefix"), 1))
        prefix = [normalizers.Prepend("▁")] if space_prefix else []
        tok.normalizer = normalizers.Sequence([*prefix, normalizers.Replace(" ", "▁")])
        strip = [decoders.Strip(" ", 1, 0)] if space_prefix else []
        tok.decoder = decoders.Sequence(
            [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), *strip]
        )
    else:
        raise UnsupportedModelError(f"GGUF tokenizer model '{kind or 'missing'}' is not supported")

    # Control tokens (turn markers, bos/eos) are special: matched whole, and left out when
    # decoding with skip_special_tokens. User-defined ones are matched whole too but are text
    # (Gemma's runs of newlines and spaces, HTML tags), as llama.cpp treats them.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if int(ty) == _CONTROL])
    tok.add_tokens([AddedToken(t, special=False, normalized=False)
                    for t, ty in zip(tokens, types) if int(ty) == _USER_DEFINED])
    if add_bos and bos is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, vocab[bos])]
        )
    special = {"bos_token": bos, "eos_token": eos, "unk_token": unk, "pad_token": pad, "add_bos_token": add_bos}
    return tok, special
