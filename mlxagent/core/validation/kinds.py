"""Which parser a file gets, from its name alone."""

from __future__ import annotations

import posixpath

# extension (lower case, with the dot) -> kind
_BY_EXTENSION: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".json": "json", ".ipynb": "json",
    ".toml": "toml",
    ".yaml": "yaml", ".yml": "yaml",
    ".ini": "ini", ".cfg": "ini",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".rb": "ruby",
    ".sh": "bash", ".bash": "bash",
    ".cs": "csharp",
    ".php": "php",
    ".css": "css",
    ".html": "html", ".htm": "html",
}

# whole file names (lower case) that say their kind without an extension we know
_BY_NAME: dict[str, str] = {
    "pipfile": "toml", "cargo.lock": "toml", "poetry.lock": "toml", "uv.lock": "toml",
}

# JSON files that are JSON-with-comments by convention: json.loads would call them broken
_JSONC_DIRS = (".vscode", ".devcontainer")
_JSONC_PREFIXES = ("tsconfig", "jsconfig")
_JSONC_NAMES = ("devcontainer.json", ".devcontainer.json", "launch.json")


def kind_of(path: str) -> str | None:
    """"python", "json", "toml", "yaml", "ini", "javascript", "typescript", "tsx", "go", "rust",
    "java", "c", "cpp", "ruby", "bash", "csharp", "php", "css", "html", or None when no parser
    covers the file."""
    try:
        normal = str(path).replace("\\", "/")
        name = posixpath.basename(normal).lower()
        if not name:
            return None
        if name in _BY_NAME:
            return _BY_NAME[name]
        _, extension = posixpath.splitext(name)
        kind = _BY_EXTENSION.get(extension)
        if kind == "json" and _is_jsonc(normal, name):
            return None
        return kind
    except Exception:
        return None


def _is_jsonc(normal: str, name: str) -> bool:
    if name.startswith(_JSONC_PREFIXES) or name in _JSONC_NAMES:
        return True
    parent = posixpath.basename(posixpath.dirname(normal)).lower()
    return parent in _JSONC_DIRS
