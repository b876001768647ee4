"""Blind instruction tasks: a third set of plain requests (no failing test behind them), written
WITHOUT reading the rules that carry requests out (mlxagent/core/intents, mlxagent/core/repair) and
without reading the requests in instructions.py / instructions_heldout.py.

Written by a helper session on 2026-12-05. Why: the other two sets were written alongside the
rules, so their wording and their repositories may (unknowingly) fit what the rules expect. These
four repositories (a FastAPI service, a Node CLI, a YAML/TOML/INI data pipeline, a docs-heavy
library) and these requests were written independently, so the score on them is an honest
estimate of how the agent handles requests it was not tuned on. Keep them out of any tuning loop.

    from mlxagent.tasksuite.instructions_blind import blind_tasks
"""

from __future__ import annotations

from .instruction_runner import CANNOT, InstructionTask
from .instructions import crlf, make_task

__all__ = ["blind_cannot_tasks", "blind_instruction_tasks", "blind_tasks"]


# --- ledgerly: a FastAPI service with settings.py + app.yaml -----------------------------

LEDGERLY = {
    "pyproject.toml": r"""[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "ledgerly"
version = "0.7.2"
description = "Small ledger API for shared household expenses"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
    "fastapi>=0.110",
    "uvicorn[standard]>=0.29",
    "pydantic>=2.6",
    "httpx>=0.27",
    "python-dateutil>=2.9",
]

[project.optional-dependencies]
dev = [
    "pytest>=8.0",
    "pytest-asyncio>=0.23",
    "ruff>=0.4",
]

[project.urls]
Homepage = "https://github.com/ledgerly/ledgerly"
Issues = "https://github.com/ledgerly/ledgerly/issues"

[tool.ruff]
line-length = 100
target-version = "py310"

[tool.pytest.ini_options]
testpaths = ["tests"]
asyncio_mode = "auto"
""",
    "ledgerly/__init__.py": r'''"""ledgerly: a small ledger API for shared household expenses."""

__version__ = "0.7.2"

from .models import Balance, LedgerEntry, User

__all__ = ["Balance", "LedgerEntry", "User", "__version__"]
''',
    "ledgerly/settings.py": r'''"""Runtime settings for ledgerly, read once at startup (config/app.yaml overrides some)."""

import os

APP_NAME = "ledgerly"
DEBUG = True
API_PREFIX = "/api/v1"
DEFAULT_CURRENCY = "EUR"

# Pagination
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

# Upstream exchange-rate service
RATES_URL = "https://rates.example.com/v2/latest"
RATES_TIMEOUT = 10  # seconds
RATES_RETRIES = 3

DATABASE_URL = os.environ.get(
    "LEDGERLY_DATABASE_URL", "postgresql://ledgerly@localhost:5432/ledgerly"
)
SESSION_TTL = 3600  # one hour
SESSION_TTL_REMEMBER = 86400 * 14  # two weeks, for "remember me"
''',
    "ledgerly/models.py": r'''"""Pydantic models for the ledger."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from .settings import DEFAULT_CURRENCY


class User(BaseModel):
    user_id: int
    username: str
    email: str
    is_active: bool = True


class LedgerEntry(BaseModel):
    entry_id: int
    user_id: int
    amount: Decimal = Field(max_digits=12, decimal_places=2)
    currency: str = DEFAULT_CURRENCY
    description: str = ""
    booked_on: date


class Balance(BaseModel):
    user_id: int
    currency: str = DEFAULT_CURRENCY
    total: Decimal
''',
    "ledgerly/store.py": r'''"""Data access. The real thing talks to Postgres; this module hides that from the routes."""

from decimal import Decimal

from .models import LedgerEntry, User

_USERS: dict[int, User] = {}
_ENTRIES: dict[int, list[LedgerEntry]] = {}


def fetch_user(user_id: int) -> User | None:
    return _USERS.get(user_id)


def fetch_user_ids() -> list[int]:
    return sorted(_USERS)


def fetch_entries(user_id: int, limit: int = 50, offset: int = 0) -> list[LedgerEntry]:
    entries = _ENTRIES.get(user_id, [])
    return entries[offset:offset + limit]


def sum_entries(user_id: int) -> Decimal:
    return sum((e.amount for e in _ENTRIES.get(user_id, [])), Decimal("0"))
''',
    "ledgerly/api.py": r'''"""HTTP routes."""

from fastapi import APIRouter, HTTPException, Query

from . import settings
from .models import Balance, LedgerEntry, User
from .store import fetch_user, fetch_entries, sum_entries

router = APIRouter(prefix=settings.API_PREFIX)


@router.get("/users/{user_id}", response_model=User)
def get_user(user_id: int) -> User:
    user = fetch_user(user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return user


@router.get("/users/{user_id}/entries", response_model=list[LedgerEntry])
def list_entries(
    user_id: int,
    limit: int = Query(settings.DEFAULT_PAGE_SIZE, le=settings.MAX_PAGE_SIZE),
    offset: int = 0,
) -> list[LedgerEntry]:
    return fetch_entries(user_id, limit=limit, offset=offset)


@router.get("/users/{user_id}/balance", response_model=Balance)
def get_balance(user_id: int) -> Balance:
    if fetch_user(user_id) is None:
        raise HTTPException(status_code=404, detail="User not found")
    return Balance(user_id=user_id, total=sum_entries(user_id))
''',
    "ledgerly/main.py": r'''from fastapi import FastAPI

from . import __version__, settings
from .api import router

app = FastAPI(title=settings.APP_NAME, version=__version__, debug=settings.DEBUG)
app.include_router(router)
''',
    "config/app.yaml": r"""# ledgerly runtime config (overrides settings.py when present)
server:
  host: 127.0.0.1
  port: 8000
  workers: 2
  reload: false

database:
  pool_size: 10
  pool_timeout: 30
  echo: false

logging:
  level: INFO
  format: "%(asctime)s %(levelname)s %(name)s: %(message)s"

rates:
  url: https://rates.example.com/v2/latest
  refresh_minutes: 60

cors:
  allow_origins:
    - http://localhost:3000
    - https://app.ledgerly.example
  allow_credentials: true
""",
    "tox.ini": crlf(r"""[tox]
envlist = py310, py311, py312, lint
isolated_build = true

[testenv]
deps =
    pytest>=8.0
    pytest-asyncio>=0.23
commands = pytest {posargs}

[testenv:lint]
deps = ruff>=0.4
commands = ruff check ledgerly tests
"""),
    "README.md": r"""# ledgerly

A tiny ledger API for splitting shared household expenses between the people in a flat.

## Running

    pip install -e .
    uvicorn ledgerly.main:app

Settings live in `ledgerly/settings.py`; `config/app.yaml` overrides them.

## Endpoints

- `GET /api/v1/users/{user_id}` — one user
- `GET /api/v1/users/{user_id}/entries` — the user's ledger entries, paginated (`limit`, `offset`)
- `GET /api/v1/users/{user_id}/balance` — the user's current balence

Issues and ideas: https://github.com/ledgerly/ledgerly/issues
""",
}


# --- tidepool: a Node CLI ---------------------------------------------------------------

TIDEPOOL = {
    "package.json": r"""{
  "name": "tidepool",
  "version": "1.4.0",
  "description": "Tide tables in your terminal",
  "type": "module",
  "bin": {
    "tidepool": "./src/cli.js"
  },
  "main": "./src/index.js",
  "scripts": {
    "start": "node src/cli.js",
    "test": "node --test test/",
    "lint": "eslint src"
  },
  "engines": {
    "node": ">=18"
  },
  "dependencies": {
    "chalk": "^5.3.0",
    "commander": "^12.0.0",
    "node-fetch": "^3.3.2",
    "ora": "^8.0.1"
  },
  "devDependencies": {
    "eslint": "^8.57.0",
    "prettier": "^3.2.5"
  },
  "license": "MIT"
}
""",
    ".eslintrc.json": r"""{
  "root": true,
  "env": { "node": true, "es2022": true },
  "parserOptions": { "ecmaVersion": 2022, "sourceType": "module" },
  "extends": ["eslint:recommended"],
  "rules": {
    "no-unused-vars": ["warn", { "argsIgnorePattern": "^_" }],
    "no-console": "off",
    "quotes": ["error", "single"],
    "semi": ["error", "always"]
  }
}
""",
    "src/config.js": r"""import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const API_BASE = 'https://api.tidesource.example/v1';
export const DEFAULT_STATION = 'brest';
export const REQUEST_TIMEOUT_MS = 8000;
export const CACHE_TTL_MS = 15 * 60 * 1000;

// user settings, e.g. { "station": "plymouth", "units": "imperial" }
const configPath = join(homedir(), '.config', 'tidepool', 'config.json');

export function loadConfig() {
  if (!existsSync(configPath)) {
    return { station: DEFAULT_STATION, units: 'metric' };
  }
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  return { station: DEFAULT_STATION, units: 'metric', ...config };
}
""",
    "src/fetcher.js": r"""import { API_BASE, REQUEST_TIMEOUT_MS } from './config.js';

export async function fetchTides(station, days = 2) {
  const url = `${API_BASE}/stations/${encodeURIComponent(station)}/predictions?days=${days}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const res = await fetch(url, { signal: controller.signal });
    if (!res.ok) {
      throw new Error(`tide service returned ${res.status}`);
    }
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
}

export async function fetchStations(query) {
  const res = await fetch(`${API_BASE}/stations?q=${encodeURIComponent(query)}`);
  if (!res.ok) {
    throw new Error(`tide service returned ${res.status}`);
  }
  return res.json();
}
""",
    "src/format.js": r"""import chalk from 'chalk';

const ARROW_UP = '↑';
const ARROW_DOWN = '↓';
const FEET_PER_METER = 3.28084;

export function formatHeight(meters, units = 'metric') {
  if (units === 'imperial') {
    return `${(meters * FEET_PER_METER).toFixed(1)} ft`;
  }
  return `${meters.toFixed(2)} m`;
}

export function formatPrediction(p, units) {
  const arrow = p.type === 'high' ? chalk.blue(ARROW_UP) : chalk.gray(ARROW_DOWN);
  return `${arrow} ${p.time}  ${formatHeight(p.height, units)}`;
}

export function formatTable(predictions, units) {
  if (predictions.length === 0) {
    return chalk.yellow('No predictions for this station.');
  }
  return predictions.map((p) => formatPrediction(p, units)).join('\n');
}
""",
    "src/cli.js": r"""#!/usr/bin/env node
import { Command } from 'commander';
import ora from 'ora';

import { loadConfig } from './config.js';
import { fetchTides, fetchStations } from './fetcher.js';
import { formatTable } from './format.js';

const VERSION = '1.4.0';

const program = new Command();
program
  .name('tidepool')
  .description('Tide tables in your terminal')
  .version(VERSION);

program
  .command('show [station]')
  .description('show the next high and low tides for a station')
  .option('-d, --days <n>', 'how many days to show', Number)
  .action(async (station, opts) => {
    const config = loadConfig();
    const spinner = ora('Fetching tides…').start();
    try {
      const data = await fetchTides(station ?? config.station, opts.days);
      spinner.stop();
      console.log(formatTable(data.predictions, config.units));
    } catch (err) {
      spinner.fail(err.message);
      process.exitCode = 1;
    }
  });

program
  .command('search <query>')
  .description('find stations by name')
  .action(async (query) => {
    const stations = await fetchStations(query);
    for (const s of stations) {
      console.log(`${s.id}\t${s.name}`);
    }
  });

program.parse();
""",
    "src/index.js": r"""export { loadConfig, API_BASE, DEFAULT_STATION } from './config.js';
export { fetchTides, fetchStations } from './fetcher.js';
export { formatHeight, formatPrediction, formatTable } from './format.js';
""",
    "data/stations.json": r"""{
  "aliases": {
    "brest": "FR-BREST-01",
    "st-malo": "FR-STMALO-02",
    "plymouth": "GB-PLYM-01",
    "plymouth-sound": "GB-PLYM-02"
  },
  "favorites": ["brest", "plymouth"],
  "display": {
    "units": "metric",
    "time_format": "24h",
    "show_moon": false,
    "show_sunrise": true
  }
}
""",
    "README.md": r"""# tidepool

Tide tables in your terminal. Requires Node 18 or newer.

```
npx tidepool show brest
npx tidepool show brest --days 5
npx tidepool search "saint malo"
```

Stations can be given by id or by an alias from `data/stations.json`. Your own
settings (default station, units) go in `~/.config/tidepool/config.json`.

Data comes from the TideSource API; see https://tidesource.example/docs/terms for the terms of use.""",
}


# --- grainline: a data pipeline (YAML + TOML + INI) ---------------------------------------

GRAINLINE = {
    "pipeline.yaml": r"""# grainline nightly pipeline
name: orders-nightly
schedule: "0 2 * * *"

source:
  kind: postgres
  connection: warehouse        # section name in db.ini
  table: raw.orders
  batch_size: 5000

stages:
  - name: dedupe
    keys: [order_id, line_no]
  - name: currency
    target: EUR
    rates_url: https://rates.example.com/v2/latest
  - name: enrich_customer
    lookup: customers          # also a section in db.ini
    on_missing: skip

sink:
  kind: parquet
  path: s3://grainline-lake/orders/
  partition_by: [order_date]
  compression: snappy

alerts:
  email: data-team@example.com
  on_failure: true
  on_success: false
""",
    "settings.toml": r"""# grainline runtime settings
[runtime]
workers = 4
max_retries = 3
retry_backoff_seconds = 30
temp_dir = "/var/tmp/grainline"

[runtime.memory]
limit_mb = 4096
spill_to_disk = true

[s3]
region = "eu-west-1"
endpoint = "https://s3.eu-west-1.amazonaws.com"
multipart_threshold_mb = 64

[metrics]
enabled = true
statsd_host = "localhost"
statsd_port = 8125
prefix = "grainline"
""",
    "db.ini": crlf(r"""; database connections used by grainline
[warehouse]
host = warehouse.internal.example.com
port = 5432
dbname = analytics
user = etl
sslmode = require

[warehouse_replica]
host = warehouse-ro.internal.example.com
port = 5432
dbname = analytics
user = etl_ro
sslmode = require

[customers]
host = crm-db.internal.example.com
port = 5433
dbname = crm
user = etl
sslmode = prefer
"""),
    "logging.ini": r"""[loggers]
keys = root,grainline

[handlers]
keys = console

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers = console

[logger_grainline]
level = DEBUG
handlers = console
qualname = grainline
propagate = 0

[handler_console]
class = StreamHandler
level = DEBUG
formatter = plain
args = (sys.stderr,)

[formatter_plain]
format = %(asctime)s %(levelname)-8s %(name)s %(message)s
""",
    "grainline/__init__.py": '"""grainline: nightly order ETL."""\n\n__version__ = "2.3.1"',
    "grainline/stages.py": r'''"""Pipeline stages. Each takes and returns a list of row dicts."""

from __future__ import annotations

import logging
from decimal import Decimal

log = logging.getLogger("grainline.stages")

ROUNDING_PLACES = 2
MAX_RATE_AGE_HOURS = 24


def dedupe(rows, keys=("order_id", "line_no")):
    seen = set()
    out = []
    for row in rows:
        key = tuple(row[k] for k in keys)
        if key in seen:
            continue
        seen.add(key)
        out.append(row)
    log.info("dedupe dropped %d duplicate rows", len(rows) - len(out))
    return out


def convert_currency(rows, rates, target="EUR"):
    for row in rows:
        rate = rates[row["currency"]] / rates[target]
        row["amount"] = round(Decimal(row["amount"]) * Decimal(str(rate)), ROUNDING_PLACES)
        row["currency"] = target
    return rows


def enrich_customer(rows, customers, on_missing="skip"):
    out = []
    for row in rows:
        customer = customers.get(row["customer_id"])
        if customer is None:
            if on_missing == "fail":
                raise KeyError(f"unknown customer_id {row['customer_id']}")
            continue
        row["customer_name"] = customer["name"]
        row["customer_segment"] = customer["segment"]
        out.append(row)
    return out
''',
    "grainline/runner.py": r'''"""Entry point: python -m grainline.runner [pipeline.yaml]"""

from __future__ import annotations

import configparser
import logging.config
import sys
import tomllib
from pathlib import Path

import yaml

from . import stages

# stage name in pipeline.yaml -> function
STAGES = {
    "dedupe": stages.dedupe,
    "currency": stages.convert_currency,
    "enrich_customer": stages.enrich_customer,
}


def load_settings(path: str = "settings.toml") -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def connection(name: str, path: str = "db.ini") -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(path)
    return dict(parser[name])


def main(argv: list[str]) -> int:
    logging.config.fileConfig("logging.ini", disable_existing_loggers=False)
    spec = yaml.safe_load(Path(argv[0] if argv else "pipeline.yaml").read_text())
    settings = load_settings()
    db = connection(spec["source"]["connection"])
    log = logging.getLogger("grainline")
    log.info("running %s with %d workers against %s", spec["name"],
             settings["runtime"]["workers"], db["host"])
    for stage in spec["stages"]:
        if stage["name"] not in STAGES:
            log.error("unknown stage %r", stage["name"])
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
''',
    "schemas/orders.json": r"""{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://grainline.example.com/schemas/orders.json",
  "title": "Order line",
  "type": "object",
  "required": ["order_id", "line_no", "customer_id", "amount", "currency"],
  "properties": {
    "order_id": {"type": "integer"},
    "line_no": {"type": "integer", "minimum": 1},
    "customer_id": {"type": "string", "maxLength": 32},
    "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"},
    "currency": {"type": "string", "minLength": 3, "maxLength": 3},
    "order_date": {"type": "string", "format": "date"},
    "note": {"type": ["string", "null"], "maxLength": 500}
  },
  "additionalProperties": false
}
""",
    "README.md": r"""# grainline

Nightly ETL for order data: Postgres → dedupe → currency conversion → customer enrichment →
Parquet on S3.

## Configuration

| file | what |
|------|------|
| `pipeline.yaml` | source table, stages, sink, alerts |
| `settings.toml` | workers, retries, memory, S3 |
| `db.ini` | database connections, one section each |
| `logging.ini` | log levels and format |
| `schemas/orders.json` | JSON schema every order line must match |

Run it with `python -m grainline.runner`. Failures are emailed to the adress in `alerts.email`.
""",
}


# --- quillmark: a docs-heavy Markdown library ---------------------------------------------

QUILLMARK = {
    "pyproject.toml": r"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "quillmark"
version = "2.1.0"
description = "A small, strict Markdown renderer with pluggable extensions"
readme = "README.md"
license = {text = "BSD-3-Clause"}
authors = [{name = "Quillmark contributors"}]
requires-python = ">=3.9"
dependencies = ["markupsafe>=2.1"]
classifiers = [
    "Programming Language :: Python :: 3",
    "License :: OSI Approved :: BSD License",
    "Topic :: Text Processing :: Markup :: Markdown",
]

[project.optional-dependencies]
highlight = ["pygments>=2.15"]
docs = ["mkdocs>=1.5", "mkdocs-material>=9.4"]

[project.urls]
Documentation = "https://quillmark.readthedocs.io/"
Source = "https://github.com/quillmark/quillmark"
Changelog = "https://github.com/quillmark/quillmark/blob/main/CHANGELOG.md"

[tool.setuptools.packages.find]
include = ["quillmark*"]
""",
    "quillmark/__init__.py": r'''"""quillmark — a small, strict Markdown renderer."""

from .extensions import Extension, register_extension
from .render import Renderer, render, render_inline

__version__ = "2.1.0"
__all__ = ["Extension", "Renderer", "register_extension", "render", "render_inline"]
''',
    "quillmark/render.py": r'''"""The renderer: block parsing first, then inline spans."""

from __future__ import annotations

import re

from markupsafe import escape

from .extensions import active_extensions

HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
MAX_NESTING = 16
SAFE_MODE = True


class Renderer:
    def __init__(self, safe: bool = SAFE_MODE, max_nesting: int = MAX_NESTING,
                 smart_quotes: bool = False):
        self.safe = safe
        self.max_nesting = max_nesting
        self.smart_quotes = smart_quotes

    def render(self, text: str) -> str:
        blocks = [self.render_block(b) for b in text.split("\n\n") if b.strip()]
        return "\n".join(blocks)

    def render_block(self, block: str) -> str:
        m = HEADING_RE.match(block)
        if m:
            level = len(m.group(1))
            return f"<h{level}>{render_inline(m.group(2), self.safe)}</h{level}>"
        return f"<p>{render_inline(block, self.safe)}</p>"


def render_inline(text: str, safe: bool = True) -> str:
    out = str(escape(text)) if safe else text
    for ext in active_extensions():
        out = ext.inline(out)
    return out


def render(text: str, **options) -> str:
    return Renderer(**options).render(text)
''',
    "quillmark/extensions.py": r'''"""Extensions hook into inline rendering. Register one with register_extension()."""

from __future__ import annotations

_REGISTRY: list["Extension"] = []


class Extension:
    name = "base"
    priority = 100

    def inline(self, text: str) -> str:
        return text


def register_extension(ext: Extension) -> None:
    if any(e.name == ext.name for e in _REGISTRY):
        raise ValueError(f"extension {ext.name!r} is allready registered")
    _REGISTRY.append(ext)
    _REGISTRY.sort(key=lambda e: e.priority)


def active_extensions() -> list[Extension]:
    return list(_REGISTRY)
''',
    "mkdocs.yml": r"""site_name: quillmark
site_url: https://quillmark.readthedocs.io/
repo_url: https://github.com/quillmark/quillmark
edit_uri: edit/main/docs/

theme:
  name: material
  palette:
    primary: indigo
    accent: amber
  features:
    - navigation.tabs
    - content.code.copy

nav:
  - Home: index.md
  - Extensions: extensions.md
  - Changelog: changelog.md

markdown_extensions:
  - admonition
  - toc:
      permalink: true
  - pymdownx.highlight:
      linenums: false
      anchor_linenums: false
  - pymdownx.superfences
""",
    ".github/workflows/ci.yml": r"""name: ci

on:
  push:
    branches: [main]
  pull_request:

jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.9", "3.10", "3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
      - run: pip install -e .[highlight] pytest flake8
      - run: flake8 quillmark
      - run: pytest -q
""",
    "setup.cfg": r"""[flake8]
max-line-length = 110
extend-ignore = E203, W503
exclude = .git,__pycache__,build,dist

[coverage:run]
branch = True
source = quillmark

[coverage:report]
show_missing = True
fail_under = 85
""",
    "README.md": r"""# quillmark

A small, strict Markdown renderer with pluggable extensions.

```python
from quillmark import render

print(render("# Hello\n\nSome *text*."))
```

Safe mode is on by default: raw HTML in the input is escaped. Pass `safe=False`
to let it through (only do this for input you trust).

## Extensions

See the [extensions guide](https://quillmark.readthedocs.io/extensions/) for writing your own.

## License

BSD-3-Clause. See LICENSE.
""",
    "CHANGELOG.md": r"""# Changelog

All notable changes to quillmark are documented here. The format follows
[Keep a Changelog](https://keepachangelog.com/en/1.1.0/).

## Unreleased

### Fixed
- Headings with trailing hashes (`## Title ##`) no longer keep the hashes.

## 2.1.0 - 2024-03-02

### Added
- `render_inline()` renders a single line without block parsing.
- Extensions can set a `priority`; lower runs first.

### Changed
- Safe mode is now on by default.

## 2.0.0 - 2023-11-18

### Removed
- Python 3.8 support.
- The deprecated `Markdown` class; use `Renderer`.

## 1.4.2 - 2023-06-30

### Fixed
- Escaping of `&` inside link titles.
""",
    "docs/index.md": r"""# quillmark

quillmark turns Markdown into HTML. It is strict: anything it does not
understand is escaped rather than guessed at.

## Install

    pip install quillmark
    pip install "quillmark[highlight]"   # with Pygments code highlighting

## Quick start

```python
from quillmark import Renderer

r = Renderer(max_nesting=8)
html = r.render(open("README.md").read())
```

`Renderer` options:

- `safe` (default `True`) — escape raw HTML
- `max_nesting` (default `16`) — deepest list/quote nesting
- `smart_quotes` (default `False`) — turn "straight" quotes into curly ones
""",
    "docs/extensions.md": r"""# Writing extensions

An extension is a subclass of `Extension` with an `inline()` method. It
recieves the already-escaped text of one span and returns the new text.

```python
from quillmark import Extension, register_extension


class Strike(Extension):
    name = "strike"
    priority = 50

    def inline(self, text):
        return text.replace("~~", "<del>", 1).replace("~~", "</del>", 1)


register_extension(Strike())
```

Extensions run in order of `priority` (lower first). The default priority is
100. Registering two extensions with the same `name` raises `ValueError`.
""",
    "CONTRIBUTING.md": crlf(r"""# Contributing to quillmark

Thanks for helping! A few rules:

1. Open an issue before large changes.
2. Run `pytest` and `flake8` before pushing.
3. Add an entry under **Unreleased** in CHANGELOG.md.
4. Keep lines under 110 characters.

Questions go to the mailing list: quillmark-dev@googlegroups.com
"""),
}


# --- the tasks with expected bytes ---------------------------------------------------------
# (id, request, repo, edits); edits are (old, new, count) per path, as make_task applies them.

_SPECS = [
    # py
    ("instr-py-b1", "its way too noisy, turn debug off", LEDGERLY,
     {"ledgerly/settings.py": [("DEBUG = True", "DEBUG = False", 1)]}),
    ("instr-py-b2", "rename fetch_user to load_user", LEDGERLY,
     {"ledgerly/store.py": [("def fetch_user(", "def load_user(", 1)],
      "ledgerly/api.py": [("fetch_user", "load_user", 3)]}),
    ("instr-py-b3", "there's a typo in the duplicate-extension error, 'allready' should be 'already'",
     QUILLMARK,
     {"quillmark/extensions.py": [("is allready registered", "is already registered", 1)]}),
    ("instr-py-b4", "Renderer's smart_quotes should default to True now. fix the docs where the "
     "default is listed too", QUILLMARK,
     {"quillmark/render.py": [("smart_quotes: bool = False", "smart_quotes: bool = True", 1)],
      "docs/index.md": [("`smart_quotes` (default `False`)", "`smart_quotes` (default `True`)", 1)]}),
    ("instr-py-b5", 'Change the 404 detail "User not found" to "No such user"', LEDGERLY,
     {"ledgerly/api.py": [('detail="User not found"', 'detail="No such user"', 2)]}),
    ("instr-py-b6", "register_extension -> add_extension, everywhere incl. the docs", QUILLMARK,
     {"quillmark/__init__.py": [("register_extension", "add_extension", 2)],
      "quillmark/extensions.py": [("register_extension", "add_extension", 2)],
      "docs/extensions.md": [("register_extension", "add_extension", 2)]}),
    # json
    ("instr-json-b1", "we're on node 20 now", TIDEPOOL,
     {"package.json": [('"node": ">=18"', '"node": ">=20"', 1)],
      "README.md": [("Requires Node 18 or newer.", "Requires Node 20 or newer.", 1)]}),
    ("instr-json-b2", "drop the node-fetch dependency, we use the built-in fetch", TIDEPOOL,
     {"package.json": [('    "node-fetch": "^3.3.2",\n', "", 1)]}),
    ("instr-json-b3", "the package is 1.5.0 now", TIDEPOOL,
     {"package.json": [('"version": "1.4.0"', '"version": "1.5.0"', 1)],
      "src/cli.js": [("const VERSION = '1.4.0';", "const VERSION = '1.5.0';", 1)]}),
    ("instr-json-b4", "turn on show_moon in data/stations.json", TIDEPOOL,
     {"data/stations.json": [('"show_moon": false', '"show_moon": true', 1)]}),
    ("instr-json-b5", "customer ids in the orders schema can be up to 64 chars now", GRAINLINE,
     {"schemas/orders.json": [('"customer_id": {"type": "string", "maxLength": 32}',
                               '"customer_id": {"type": "string", "maxLength": 64}', 1)]}),
    # toml
    ("instr-toml-b1", "bump the minor version", LEDGERLY,
     {"pyproject.toml": [('version = "0.7.2"', 'version = "0.8.0"', 1)],
      "ledgerly/__init__.py": [('__version__ = "0.7.2"', '__version__ = "0.8.0"', 1)]}),
    ("instr-toml-b2", "we dont use dateutil anymore, remove it from the deps", LEDGERLY,
     {"pyproject.toml": [('    "python-dateutil>=2.9",\n', "", 1)]}),
    ("instr-toml-b3", "raise the runtime memory limit to 8192 MB", GRAINLINE,
     {"settings.toml": [("limit_mb = 4096", "limit_mb = 8192", 1)]}),
    ("instr-toml-b4", "The S3 bucket moved to eu-central-1.", GRAINLINE,
     {"settings.toml": [("eu-west-1", "eu-central-1", 2)]}),
    # ini
    ("instr-ini-b1", "add py313 to the tox envlist", LEDGERLY,
     {"tox.ini": [("envlist = py310, py311, py312, lint", "envlist = py310, py311, py312, py313, lint", 1)]}),
    ("instr-ini-b2", "the read replica is behind pgbouncer now so its port is 6432", GRAINLINE,
     {"db.ini": [("warehouse-ro.internal.example.com\r\nport = 5432",
                  "warehouse-ro.internal.example.com\r\nport = 6432", 1)]}),
    ("instr-ini-b3", "set the grainline logger to INFO in logging.ini, DEBUG is too chatty", GRAINLINE,
     {"logging.ini": [("[logger_grainline]\nlevel = DEBUG", "[logger_grainline]\nlevel = INFO", 1)]}),
    ("instr-ini-b4", "we agreed on 120 char lines — update the flake8 max line length and the "
     "contributing guide", QUILLMARK,
     {"setup.cfg": [("max-line-length = 110", "max-line-length = 120", 1)],
      "CONTRIBUTING.md": [("Keep lines under 110 characters.", "Keep lines under 120 characters.", 1)]}),
    # yaml
    ("instr-yaml-b1", "remove http://localhost:3000 from the CORS origins", LEDGERLY,
     {"config/app.yaml": [("    - http://localhost:3000\n", "", 1)]}),
    ("instr-yaml-b2", "the exchange-rate service moved to https://fx.example.net/v3/latest", LEDGERLY,
     {"config/app.yaml": [("https://rates.example.com/v2/latest", "https://fx.example.net/v3/latest", 1)],
      "ledgerly/settings.py": [("https://rates.example.com/v2/latest", "https://fx.example.net/v3/latest", 1)]}),
    ("instr-yaml-b3", "turn on line numbers for code blocks in the docs site", QUILLMARK,
     {"mkdocs.yml": [("      linenums: false", "      linenums: true", 1)]}),
    ("instr-yaml-b4", "Also email us when the nightly run succeeds, not just when it fails.", GRAINLINE,
     {"pipeline.yaml": [("on_success: false", "on_success: true", 1)]}),
    # md
    ("instr-md-b1", "fix the balence typo in the readme", LEDGERLY,
     {"README.md": [("current balence", "current balance", 1)]}),
    ("instr-md-b2", "TideSource moved their terms page to https://tidesource.example/terms", TIDEPOOL,
     {"README.md": [("https://tidesource.example/docs/terms", "https://tidesource.example/terms", 1)]}),
    ("instr-md-b3", "typo: adress -> address", GRAINLINE,
     {"README.md": [("the adress in", "the address in", 1)]}),
    ("instr-md-b4", "2.0.0 was released on 2023-11-21, not the 18th. fix the changelog", QUILLMARK,
     {"CHANGELOG.md": [("## 2.0.0 - 2023-11-18", "## 2.0.0 - 2023-11-21", 1)]}),
    ("instr-md-b5", "the dev mailing list is quillmark-dev@lists.quillmark.dev now", QUILLMARK,
     {"CONTRIBUTING.md": [("quillmark-dev@googlegroups.com", "quillmark-dev@lists.quillmark.dev", 1)]}),
    # js
    ("instr-js-b1", "rename loadConfig to readConfig", TIDEPOOL,
     {"src/config.js": [("loadConfig", "readConfig", 1)],
      "src/cli.js": [("loadConfig", "readConfig", 2)],
      "src/index.js": [("loadConfig", "readConfig", 1)]}),
    ("instr-js-b2", "configPath should be called configFile (src/config.js)", TIDEPOOL,
     {"src/config.js": [("configPath", "configFile", 3)]}),
    ("instr-js-b3", "fetchTides should get 3 days by default, not 2", TIDEPOOL,
     {"src/fetcher.js": [("fetchTides(station, days = 2)", "fetchTides(station, days = 3)", 1)]}),
    ("instr-js-b4", "8s timeout is too short for the tide api, make it 20 seconds", TIDEPOOL,
     {"src/config.js": [("REQUEST_TIMEOUT_MS = 8000", "REQUEST_TIMEOUT_MS = 20000", 1)]}),
]


# --- requests that are not a small literal edit ----------------------------------------------

_CANNOT: list[tuple[str, dict[str, str]]] = [
    ("add an endpoint to delete a single ledger entry", LEDGERLY),
    ("write tests for the routes in api.py", LEDGERLY),
    ("move settings.py to pydantic-settings so every value can come from an env var", LEDGERLY),
    ("add a --json flag to `show` that prints the raw predictions", TIDEPOOL),
    ("cache tide responses on disk for CACHE_TTL_MS so repeated runs don't hit the api", TIDEPOOL),
    ("convert the cli to typescript", TIDEPOOL),
    ("add a stage that drops cancelled orders before dedupe", GRAINLINE),
    ("retry failed stages with exponential backoff using max_retries from settings.toml", GRAINLINE),
    ("split runner.py into separate load / transform / sink modules", GRAINLINE),
    ("support fenced code blocks with pygments highlighting when the extra is installed", QUILLMARK),
    ("render is slow on big documents, profile it and make it faster", QUILLMARK),
    ("write a docs page that explains every Renderer option with an example", QUILLMARK),
]


def blind_instruction_tasks() -> list[InstructionTask]:
    """The blind tasks with expected bytes."""
    return [make_task(id, id.split("-")[1], text, repo, edits) for id, text, repo, edits in _SPECS]


def blind_cannot_tasks() -> list[InstructionTask]:
    """Blind requests that are not small literal edits: success is that nothing was deleted or
    left unparseable."""
    return [InstructionTask(id=f"instr-cannot-b{i}", text=text, files=dict(repo), expected={}, kind=CANNOT)
            for i, (text, repo) in enumerate(_CANNOT, 1)]


def blind_tasks() -> list[InstructionTask]:
    """blind_instruction_tasks() followed by blind_cannot_tasks(), the same on every call."""
    return blind_instruction_tasks() + blind_cannot_tasks()
