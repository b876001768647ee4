"""Hugging Face hub downloads into the normal HF cache, with progress and cancel."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable

from ..errors import CancelledError, ModelError, OfflineError
from .gguf_import import ProgressFn

REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
# What mlx-lm needs from a model repo; skips other frameworks' weights.
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "tokenizer.model", "*.tiktoken", "*.txt", "*.py"]


def is_repo_id(spec: str) -> bool:
    return bool(REPO_ID_RE.match(spec)) and ".." not in spec


def _endpoint() -> str | None:
    return os.environ.get("MLXAGENT_HF_ENDPOINT") or None


def cached_snapshot(repo_id: str) -> Path | None:
    """The local snapshot if the repo is already fully in the HF cache."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS, local_files_only=True))
    except Exception:  # noqa: BLE001 - any failure just means "not cached"
        return None


def download(
    repo_id: str,
    progress: ProgressFn | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Path:
    """Download (or find in the cache) an MLX model repo and return its snapshot dir."""
    if not is_repo_id(repo_id):
        raise ModelError(f"'{repo_id}' is not a Hugging Face repo id (expected owner/name)")
    if (local := cached_snapshot(repo_id)) is not None:
        return local
    from huggingface_hub import errors as hf_errors
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(
            repo_id,
            allow_patterns=ALLOW_PATTERNS,
            tqdm_class=_progress_tqdm(progress, cancel),
            endpoint=_endpoint(),
            etag_timeout=10,
        )
    except CancelledError:
        raise
    except (hf_errors.RepositoryNotFoundError, hf_errors.RevisionNotFoundError):
        raise ModelError(f"{repo_id}: no such model on the Hugging Face hub (or it is private/gated)") from None
    except hf_errors.HfHubHTTPError as e:
        raise ModelError(f"{repo_id}: the hub answered with an error ({_first_line(e)})") from None
    except Exception as e:  # connection refused, DNS, offline mode, timeouts...
        raise OfflineError(
            f"Could not reach the Hugging Face hub to download {repo_id} ({_first_line(e)}). "
            "Check the network, or download the model elsewhere and pass its directory."
        ) from None
    return Path(path)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def _progress_tqdm(progress: ProgressFn | None, cancel: Callable[[], bool] | None):
    """A tqdm class that forwards byte progress and raises on cancel (huggingface_hub calls update())."""
    from huggingface_hub.utils import tqdm as hf_tqdm

    class ProgressTqdm(hf_tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True  # no terminal output; we report through the callback
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if cancel and cancel():
                raise CancelledError("Download cancelled")
            self.n += n or 0
            if progress and self.total:
                progress("downloading", min(1.0, self.n / self.total))

    return ProgressTqdm
