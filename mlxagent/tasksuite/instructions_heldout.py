"""Held-out instruction tasks: other repositories and other wordings than instructions.py, plus
"cannot" requests that no simple rule can carry out (add a function, write docstrings, ...).

A "cannot" task has no expected bytes; it passes when nothing was deleted and every file that
parsed before still parses (instruction_runner.check_instruction).

    from mlxagent.tasksuite.instructions_heldout import heldout_tasks
"""

from __future__ import annotations

from .instruction_runner import CANNOT, InstructionTask
from .instructions import crlf, make_task

__all__ = ["cannot_tasks", "heldout_tasks", "heldout_instruction_tasks"]


# --- notekeeper: a Python app (poetry) ----------------------------------------------------

NOTEKEEPER = {
    "pyproject.toml": '''[tool.poetry]
name = "notekeeper"
version = "0.9.1"
description = "Keep plain-text notes in a folder and search them"
authors = ["Ana Ruiz <ana@example.org>"]

[tool.poetry.dependencies]
python = "^3.10"
httpx = "^0.27"

[tool.ruff]
target-version = "py310"
line-length = 110

[build-system]
requires = ["poetry-core>=1.8"]
build-backend = "poetry.core.masonry.api"
''',
    "notekeeper/__init__.py": '''"""notekeeper: plain-text notes."""
__version__ = "0.9.1"
''',
    "notekeeper/text.py": '''import re
import unicodedata

_SPACES = re.compile(r"\\s+")


def clean_text(text: str) -> str:
    """Collapse whitespace and normalise unicode (NFC)."""
    text = unicodedata.normalize("NFC", text)
    return _SPACES.sub(" ", text).strip()


def clean_text_all(texts):
    return [clean_text(t) for t in texts]


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", clean_text(title).lower()).strip("-")
''',
    "notekeeper/store.py": '''from pathlib import Path

from .text import clean_text, clean_text_all, slug


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)

    def save(self, title: str, body: str) -> Path:
        path = self.root / f"{slug(title)}.txt"
        path.write_text(clean_text(body) + "\\n", encoding="utf-8")
        return path

    def search(self, word: str) -> list[str]:
        bodies = clean_text_all(p.read_text(encoding="utf-8") for p in self.root.glob("*.txt"))
        return [b for b in bodies if word in b]
''',
    "notekeeper/net.py": '''import httpx

DEFAULT_TIMEOUT = 10  # seconds
SYNC_URL = "https://sync.notekeeper.example/api"


def fetch_note(note_id: str) -> str:
    response = httpx.get(f"{SYNC_URL}/notes/{note_id}", timeout=DEFAULT_TIMEOUT)
    response.raise_for_status()
    return response.text
''',
    "stats.py": '''"""Tiny statistics for the notes dashboard."""


def mean(values):
    values = list(values)
    return sum(values) / len(values)


def word_counts(notes):
    return {name: len(body.split()) for name, body in notes.items()}
''',
    "config.yaml": '''server:
    bind: 0.0.0.0
    port: 8080
    tls:
        enabled: true
        cert: /etc/notekeeper/cert.pem
storage:
    root: ~/notes
    backup_port: 8081
''',
    "README.md": '''# notekeeper

Keep teh notes you write in a plain folder and search them later.

Run `notekeeper serve`; teh server reads `config.yaml`.
''',
}


# --- pixelboard: a JS drawing app --------------------------------------------------------------

PIXELBOARD = {
    "package.json": '''{
    "name": "pixelboard",
    "version": "2.1.0",
    "private": true,
    "scripts": {
        "build": "esbuild src/index.js --bundle --outdir=dist"
    },
    "devDependencies": {
        "esbuild": "^0.20.1"
    }
}
''',
    ".prettierrc.json": '''{
  "tabWidth": 2,
  "singleQuote": true,
  "trailingComma": "all"
}''',
    "config/default.json": crlf('''{
  "board": { "width": 64, "height": 64 },
  "verbose": true,
  "api": { "timeoutMs": 5000 }
}
'''),
    "src/board.js": '''export const PAGE_SIZE = 20;
export const PAGE_SIZE_MAX = 100;

export function drawPixel(ctx, x, y, color) {
\tctx.fillStyle = color;
\tctx.fillRect(x, y, 1, 1);
}

export function drawPixels(ctx, pixels) {
\tfor (const p of pixels) {
\t\tdrawPixel(ctx, p.x, p.y, p.color);
\t}
}
''',
    "src/index.js": '''import { PAGE_SIZE, PAGE_SIZE_MAX, drawPixel, drawPixels } from './board.js';
import { listBoards } from './client.js';

const canvas = document.querySelector('#board');
const ctx = canvas.getContext('2d');

drawPixel(ctx, 0, 0, '#ff0000');
drawPixels(ctx, [{ x: 1, y: 1, color: '#00ff00' }]);

listBoards({ limit: Math.min(PAGE_SIZE, PAGE_SIZE_MAX) }).then((boards) => {
\tconsole.log(`loaded ${boards.length} boards (drawPixel ready)`);
});
''',
    "src/client.js": '''const BASE = 'https://api.pixelboard.dev';

export async function listBoards({ limit }) {
\tconst res = await fetch(`${BASE}/boards?limit=${limit}`);
\treturn res.json();
}
''',
    "app.ini": crlf('''[app]
name = pixelboard
workers = 2

[cache]
enabled = true
dir = /var/cache/pixelboard
'''),
    "deploy.yaml": '''apiVersion: apps/v1
kind: Deployment
metadata:
  name: pixelboard-worker
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: worker
          image: ghcr.io/acme/pixelboard:2.1.0
          resources:
            requests:
              memory: 128Mi
            limits:
              memory: 256Mi
''',
    "docs/deploy.md": '''# Deploying pixelboard

Staging lives at http://staging.pixelboard.dev (see http://staging.pixelboard.dev/status).
Production is https://pixelboard.dev.
''',
    "CONTRIBUTING.md": '''# Contributing

We try to accomodate every request, but please open an issue first.
Format with prettier before you push.''',
}


_N, _P = NOTEKEEPER, PIXELBOARD

_SPECS: list[tuple[str, str, dict[str, str], dict[str, list[tuple[str, str, int]]]]] = [
    ("instr-yaml-h1", "we now listen on 8443, update the config", _N, {
        "config.yaml": [("port: 8080", "port: 8443", 1)]}),
    ("instr-yaml-h2", "the worker needs a 512Mi memory limit, not 256Mi", _P, {
        "deploy.yaml": [("memory: 256Mi", "memory: 512Mi", 1)]}),
    ("instr-toml-h1", "the package is 0.9.2 now", _N, {
        "pyproject.toml": [('version = "0.9.1"', 'version = "0.9.2"', 1)],
        "notekeeper/__init__.py": [('"0.9.1"', '"0.9.2"', 1)]}),
    ("instr-toml-h2", "ruff should target py311 from now on", _N, {
        "pyproject.toml": [('target-version = "py310"', 'target-version = "py311"', 1)]}),
    ("instr-md-h1", "README says 'teh' twice, fix it", _N, {
        "README.md": [("teh", "the", 2)]}),
    ("instr-md-h2", "docs/deploy.md still links http://staging.pixelboard.dev; it is "
                    "https://staging.pixelboard.io now", _P, {
        "docs/deploy.md": [("http://staging.pixelboard.dev", "https://staging.pixelboard.io", 2)]}),
    ("instr-md-h3", "CONTRIBUTING.md: 'accomodate' is spelled wrong", _P, {
        "CONTRIBUTING.md": [("accomodate", "accommodate", 1)]}),
    ("instr-py-h1", "call the helper `normalize` instead of `clean_text`", _N, {
        "notekeeper/text.py": [("def clean_text(text", "def normalize(text", 1),
                               ("[clean_text(t)", "[normalize(t)", 1), (", clean_text(title)", ", normalize(title)", 1)],
        "notekeeper/store.py": [("import clean_text, clean_text_all", "import normalize, clean_text_all", 1),
                                ("write_text(clean_text(body)", "write_text(normalize(body)", 1)]}),
    ("instr-py-h2", "DEFAULT_TIMEOUT should be 30 seconds", _N, {
        "notekeeper/net.py": [("DEFAULT_TIMEOUT = 10", "DEFAULT_TIMEOUT = 30", 1)]}),
    ("instr-json-h1", "pixelboard is too chatty: make config/default.json non-verbose", _P, {
        "config/default.json": [('"verbose": true', '"verbose": false', 1)]}),
    ("instr-json-h2", "we indent with 4 spaces now, tell prettier", _P, {
        ".prettierrc.json": [('"tabWidth": 2', '"tabWidth": 4', 1)]}),
    ("instr-js-h1", "the API moved to https://api.pixelboard.io, update the client", _P, {
        "src/client.js": [("'https://api.pixelboard.dev'", "'https://api.pixelboard.io'", 1)]}),
    ("instr-js-h2", "drawPixel should be called paintPixel everywhere", _P, {
        "src/board.js": [("function drawPixel(", "function paintPixel(", 1), ("\t\tdrawPixel(", "\t\tpaintPixel(", 1)],
        "src/index.js": [("PAGE_SIZE_MAX, drawPixel, drawPixels", "PAGE_SIZE_MAX, paintPixel, drawPixels", 1),
                         ("\ndrawPixel(ctx", "\npaintPixel(ctx", 1)]}),
    ("instr-js-h3", "PAGE_SIZE is now called PER_PAGE", _P, {
        "src/board.js": [("const PAGE_SIZE = 20", "const PER_PAGE = 20", 1)],
        "src/index.js": [("import { PAGE_SIZE, ", "import { PER_PAGE, ", 1),
                         ("Math.min(PAGE_SIZE, ", "Math.min(PER_PAGE, ", 1)]}),
    ("instr-ini-h1", "pixelboard should run 8 workers (app.ini)", _P, {
        "app.ini": [("workers = 2", "workers = 8", 1)]}),
    ("instr-ini-h2", "switch the cache off", _P, {
        "app.ini": [("enabled = true", "enabled = false", 1)]}),
]

_CANNOT: list[tuple[str, dict[str, str]]] = [
    ("add a function median to stats.py", _N),
    ("write docstrings for notekeeper/text.py", _N),
    ("add type hints to notekeeper/store.py", _N),
    ("write unit tests for stats.py", _N),
    ("add caching to fetch_note so the same note is not fetched twice", _N),
    ("make fetch_note retry failed requests with exponential backoff", _N),
    ("add logging to the Store class", _N),
    ("explain what store.py does in a comment at the top of the file", _N),
    ("translate README.md into French", _N),
    ("add a dev dependency on pytest to pyproject.toml", _N),
    ("split notekeeper/text.py into two modules", _N),
    ("add a [metrics] section with sensible defaults to app.ini", _P),
    ("add a liveness probe to the worker in deploy.yaml", _P),
    ("refactor src/board.js into a Board class", _P),
    ("make drawPixel check that x and y are inside the board", _P),
    ("add a lint script to package.json", _P),
    ("add an undo button to the board", _P),
    ("document the config/default.json options in docs/deploy.md", _P),
    ("add a variance function next to mean in stats.py", _N),
    ("cache listBoards results for a minute", _P),
]


def heldout_instruction_tasks() -> list[InstructionTask]:
    """The held-out tasks with expected bytes."""
    return [make_task(id, id.split("-")[1], text, repo, edits) for id, text, repo, edits in _SPECS]


def cannot_tasks() -> list[InstructionTask]:
    """Requests no rule can carry out: success is that nothing was deleted or left unparseable."""
    return [InstructionTask(id=f"instr-cannot-{i}", text=text, files=dict(repo), expected={}, kind=CANNOT)
            for i, (text, repo) in enumerate(_CANNOT, 1)]


def heldout_tasks() -> list[InstructionTask]:
    """heldout_instruction_tasks() followed by cannot_tasks(), the same on every call."""
    return heldout_instruction_tasks() + cannot_tasks()
