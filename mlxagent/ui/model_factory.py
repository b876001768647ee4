"""Where the TUI gets its models: the real MLX runtime, or whatever a test injects.

The app only talks to a `ModelFactory`, so Pilot tests and the benchmark run the
whole UI with scripted models and a fixed list of installed models, and snapshots do
not depend on the machine's model cache, backend or memory.

Every method may block (downloads, imports, loading weights): the app calls them
from thread workers only.
"""

from __future__ import annotations

import os
from typing import Callable, Protocol

from ..core.llm import ChatModel
from ..model.catalog import InstalledModel

ProgressFn = Callable[[str, float], None]  # (stage, fraction 0..1)
CancelFn = Callable[[], bool]


class ModelFactory(Protocol):
    def backend(self) -> str:
        """The compute backend models run on ("Metal", "CPU", ...), for the status bar."""
        ...

    def speed_hint(self) -> str | None:
        """A line telling the user how to make this machine run models faster, if there is one."""
        ...

    def installed(self) -> list[InstalledModel]:
        """Models available without a download."""
        ...

    def remove(self, name: str) -> str:
        """Take `name` off the installed list (nothing on disk is deleted); says what was done."""
        ...

    def fetch(self, spec: str, progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        """Download or import `spec` so that `load(spec)` needs no network; loads nothing."""
        ...

    def load(self, spec: str, progress: ProgressFn | None, cancel: CancelFn | None) -> ChatModel:
        """Load `spec` (fetching it first if needed) and return it as the agent's model."""
        ...

    def release(self) -> None:
        """Free the memory of the model loaded last; the caller holds no reference to it any more."""
        ...


class RuntimeModelFactory:
    """The real thing: `ModelRuntime` (one model at a time) behind `MlxChatModel`."""

    def __init__(self, aliases: dict[str, str] | None = None, speculative: bool = True,
                 providers: dict | None = None, temperature: float = 0.0) -> None:
        from ..model.runtime import ModelRuntime

        self.runtime = ModelRuntime(speculative=speculative)
        self.aliases = dict(aliases or {})
        self.providers = dict(providers or {})  # [providers.NAME]: models named NAME/MODEL (model/remote.py)
        self.temperature = temperature
        self._backend: str | None = None

    def _remote(self, spec: str, check: bool):
        from ..model.remote import remote_model

        return remote_model(self.aliases.get(spec, spec), self.providers, self.temperature, check=check)

    def backend(self) -> str:
        if self._backend is None:
            from ..model.backend import backend_name

            self._backend = backend_name()
        return self._backend

    def speed_hint(self) -> str | None:
        from ..model.backend import speed_hint

        return speed_hint()

    def installed(self) -> list[InstalledModel]:
        from ..model.catalog import installed_models
        from ..model.remote import provider_models

        return installed_models() + provider_models(self.providers)

    def remove(self, name: str) -> str:
        from ..errors import ModelError
        from ..model import registry
        from ..model.catalog import installed_models

        match = next((m for m in installed_models() if m.name == name), None)
        if match is None and self._remote(name, check=False) is not None:
            provider = name.split("/", 1)[0]
            raise ModelError(f"{name} is a remote model: its list comes from [providers.{provider}] in config.toml")
        if match is None:
            raise ModelError(f"{name} is not in the list any more")
        registry.forget(match.path)
        return f"Removed {name} from the list; nothing on disk was deleted."

    def fetch(self, spec: str, progress: ProgressFn | None, cancel: CancelFn | None) -> None:
        from ..model.catalog import resolve

        if self._remote(spec, check=True) is None:  # a remote one: reachable, key accepted, model known
            resolve(spec, progress, cancel, self.aliases)

    def load(self, spec: str, progress: ProgressFn | None, cancel: CancelFn | None) -> ChatModel:
        from ..model.chat_model import MlxChatModel

        remote = self._remote(spec, check=False)  # fetch has asked the backend already
        if remote is not None:
            return remote
        return MlxChatModel(self.runtime.load(spec, progress, cancel, self.aliases))

    def release(self) -> None:
        self.runtime.unload()


def total_memory_bytes() -> int:
    """Physical memory of this machine (0 when the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


# Weights are not the whole story: the KV cache, activations and the rest of the
# system need room too, so a model "fits" when its weights take at most this share.
FIT_SHARE = 0.75


def fits_in_memory(size_bytes: float, total_bytes: int) -> str:
    """"yes", "tight" or "no" for a model of `size_bytes` on a machine with `total_bytes`."""
    if total_bytes <= 0:
        return "?"
    if size_bytes <= total_bytes * FIT_SHARE * 0.67:
        return "yes"
    if size_bytes <= total_bytes * FIT_SHARE:
        return "tight"
    return "no"
