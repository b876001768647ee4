"""Instruction tasks: plain requests with no test behind them, over three small repositories.

Success is exact bytes: afterwards the files in a task's `expected` hold exactly that text and every
other file is byte-identical (instruction_runner.check_instruction). The requests cover setting a
config value, bumping a version, fixing a named typo, renaming an identifier everywhere (a
look-alike name and a string that mentions it stay) and replacing a literal, in .py, .json, .toml,
.ini, .yaml, .md and .js files. Some files have CRLF line endings, some no final newline.

    from mlxagent.tasksuite.instructions import instruction_tasks
    tasks = instruction_tasks()
"""

from __future__ import annotations

from .instruction_runner import CANNOT, FILE_KINDS, InstructionTask, check_instruction

__all__ = ["CANNOT", "FILE_KINDS", "InstructionTask", "check_instruction", "instruction_tasks", "make_task"]


def make_task(id: str, kind: str, text: str, files: dict[str, str],
              edits: dict[str, list[tuple[str, str, int]]]) -> InstructionTask:
    """A task whose expected files are `files` with `edits` applied: per path, (old, new, count)
    replacements, each of which must find `old` exactly `count` times (so the edit is unambiguous)."""
    expected = {}
    for path, changes in edits.items():
        text_now = files[path]
        for old, new, count in changes:
            found = text_now.count(old)
            if found != count:
                raise ValueError(f"{id}: {old!r} occurs {found} times in {path}, not {count}")
            text_now = text_now.replace(old, new)
        expected[path] = text_now
    return InstructionTask(id=id, text=text, files=dict(files), expected=expected, kind=kind)


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# --- geokit: a Python package -----------------------------------------------------------

GEOKIT = {
    "pyproject.toml": '''[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "geokit"
version = "1.2.0"
description = "Small geometry helpers for floor plans"
readme = "README.md"
requires-python = ">=3.9"
dependencies = [
    "click>=8.1",
]

[project.scripts]
geokit = "geokit.cli:main"

[tool.black]
line-length = 88
target-version = ["py39"]

[tool.ruff.lint]
select = ["E", "F", "I"]
ignore = ["E501"]
''',
    "geokit/__init__.py": '''"""geokit: small geometry helpers for floor plans."""

from .shapes import calc_area, calc_area_total, perimeter

__version__ = "1.2.0"
''',
    "geokit/shapes.py": '''"""Areas and perimeters of the rooms in a floor plan (units: metres)."""

import math

# Persisted in users' result caches: keep this key stable across releases.
CACHE_KEY = "geokit.shapes.calc_area"


def calc_area(width, height):
    """Area of a rectangular room."""
    return width * height


def calc_area_total(rooms):
    """Total floor area of (width, height) pairs."""
    return sum(calc_area(w, h) for w, h in rooms)


def circle_area(radius):
    return math.pi * radius ** 2


def perimeter(width, height):
    return 2 * (width + height)
''',
    "geokit/cli.py": '''import click

from .shapes import calc_area, perimeter
from .units import format_dims


@click.command()
@click.argument("width", type=float)
@click.argument("height", type=float)
def main(width, height):
    """Print the area and perimeter of a WIDTH x HEIGHT room."""
    click.echo(format_dims((width, height)))
    click.echo(f"area: {calc_area(width, height):.2f} m2")
    click.echo(f"perimeter: {perimeter(width, height):.2f} m")
''',
    "geokit/units.py": '''"""Unit helpers."""

FEET_PER_METRE = 3.28084


def to_feet(metres):
\treturn metres * FEET_PER_METRE


def format_dims(dims, sep=" x "):
\t"""Join dimensions with the given seperator, two decimals each.

\tThe seperator defaults to " x " (as in 3.00 x 4.50).
\t"""
\treturn sep.join(f"{d:.2f}" for d in dims)
''',
    "settings.ini": crlf('''; geokit service settings
[server]
host = 127.0.0.1
port = 8080
workers = 4

[cache]
enabled = yes
ttl = 300
'''),
    "config.json": '''{
  "debug": true,
  "units": "metric",
  "export": {
    "format": "svg",
    "dpi": 150
  }
}
''',
    "README.md": '''# geokit

Small geometry helpers for floor plans.

## Usage

    geokit 3 4.5

You will recieve the area and the perimeter of the room. The service (see
`settings.ini`) listens on port 8080; clients recieve JSON.

Documentation: http://old.example.com/geokit
''',
    "docs/setup.md": '''# Setting up geokit

1. Install it: `pip install geokit`
2. Download the sample plans from http://old.example.com/geokit/samples.zip
3. Start the service with `geokit-serve --config settings.ini`

Report problems at http://old.example.com/geokit/issues.
''',
    "CHANGELOG.md": '''# Changelog

## 1.2.0 - 2024-03-18
- `calc_area_total` sums a list of rooms.

## 1.1.0 - 2024-01-09
- Added `calc_area` and `perimeter`.
''',
}


# --- tinyshop: a Node service --------------------------------------------------------------

TINYSHOP = {
    "package.json": '''{
  "name": "tinyshop",
  "version": "0.4.1",
  "description": "A tiny storefront demo",
  "main": "src/server.js",
  "scripts": {
    "start": "node src/server.js",
    "lint": "eslint src"
  },
  "license": "MIT",
  "dependencies": {
    "express": "^4.19.2"
  },
  "devDependencies": {
    "eslint": "^8.57.0"
  }
}
''',
    ".eslintrc.json": '''{
  "root": true,
  "env": { "node": true, "es2022": true },
  "extends": "eslint:recommended",
  "rules": {
    "semi": ["warn", "always"],
    "quotes": ["error", "single"]
  }
}
''',
    "src/cart.js": '''\'use strict\';

const MAX_ITEMS = 50;
const TAX_RATE = 0.2;

function formatPrice(cents) {
  return '$' + (cents / 100).toFixed(2);
}

function formatPriceRange(low, high) {
  return formatPrice(low) + ' - ' + formatPrice(high);
}

class Cart {
  constructor() {
    this.items = [];
  }

  add(item) {
    if (this.items.length >= MAX_ITEMS) {
      throw new Error('cart is full (MAX_ITEMS reached)');
    }
    this.items.push(item);
  }

  total() {
    const net = this.items.reduce((sum, item) => sum + item.price, 0);
    return Math.round(net * (1 + TAX_RATE));
  }
}

module.exports = { Cart, MAX_ITEMS, formatPrice, formatPriceRange };
''',
    "src/server.js": '''const express = require('express');
const { Cart, formatPrice } = require('./cart');
const { fetchCatalog } = require('./api');

const app = express();
const PORT = process.env.PORT || 3000;
const cart = new Cart();

app.get('/cart', (req, res) => {
  res.json({ items: cart.items, total: formatPrice(cart.total()) });
});

app.get('/catalog', async (req, res) => {
  res.json(await fetchCatalog());
});

app.listen(PORT, () => {
  console.log(`tinyshop listening on port ${PORT}`);
});
''',
    "src/api.js": '''// Thin client for the catalog service.
const BASE_URL = 'http://catalog.internal:8000/v1';

async function fetchCatalog() {
  const response = await fetch(`${BASE_URL}/products`);
  if (!response.ok) {
    throw new Error(`Could not retreive the catalog: ${response.status}`);
  }
  return response.json();
}

module.exports = { fetchCatalog, BASE_URL };
''',
    "src/checkout.js": '''const { MAX_ITEMS, formatPrice, formatPriceRange } = require('./cart');

function summary(cart) {
    const count = cart.items.length;
    const left = MAX_ITEMS - count;
    return `${count} items, ${left} slots left, total ${formatPrice(cart.total())}`;
}

function priceBand(products) {
    const prices = products.map((p) => p.price);
    return formatPriceRange(Math.min(...prices), Math.max(...prices));
}

module.exports = { summary, priceBand };''',
    "config/app.yaml": '''# tinyshop runtime configuration
server:
  host: 0.0.0.0
  port: 3000
database:
  url: postgres://shop@localhost:5432/shop
  pool:
    min: 2
    max: 10
logging:
  level: info
  format: json
features:
  - wishlist
  - gift-cards
''',
    ".github/workflows/ci.yml": '''name: ci
on:
  push:
    branches: [main]
  pull_request:

jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 18
      - run: npm ci
      - run: npm run lint
''',
    "README.md": '''# tinyshop

A tiny storefront demo built on Express.

Install the dependancies with `npm ci`, then run `npm start` and open
http://localhost:3000/cart. Runtime settings live in `config/app.yaml`.

All dependancies are pinned in `package-lock.json`.''',
}


# --- datapipe: a Python batch-job package -------------------------------------------------

DATAPIPE = {
    "setup.cfg": '''[metadata]
name = datapipe
version = 1.3.0
author = Data Team
description = Batch jobs that move data between stores
long_description = file: README.md

[options]
packages = find:
python_requires = >=3.9
install_requires =
    pyyaml>=6
    requests>=2.31

[flake8]
max-line-length = 100
exclude = .git,build,dist
''',
    "setup.py": '''from setuptools import setup

setup()
''',
    "datapipe/__init__.py": '''__version__ = "1.3.0"
''',
    "datapipe/limits.py": '''# Limits shared by the scheduler and the API.
MAX_USERS = 250
MAX_USERS_PER_TEAM = 25
BATCH_SIZE = 500
''',
    "datapipe/scheduler.py": '''from datapipe.limits import BATCH_SIZE, MAX_USERS, MAX_USERS_PER_TEAM


def plan(users, teams):
    """Split `users` into batches, refusing plans over the limits."""
    if len(users) > MAX_USERS:
        raise ValueError("too many users: MAX_USERS is %d" % MAX_USERS)
    for team in teams:
        if len(team.members) > MAX_USERS_PER_TEAM:
            raise ValueError(f"team {team.name} is too large")
    return [users[i:i + BATCH_SIZE] for i in range(0, len(users), BATCH_SIZE)]
''',
    "datapipe/api.py": '''import requests

from . import limits


def quota(session: requests.Session, account: str) -> dict:
    used = session.get(f"/accounts/{account}/users").json()["count"]
    return {"used": used, "limit": limits.MAX_USERS, "free": limits.MAX_USERS - used}
''',
    "datapipe.toml": '''# datapipe job configuration
[source]
kind = "postgres"
dsn = "postgresql://etl@db.internal:5432/warehouse"

[sink]
kind = "s3"
bucket = "datapipe-exports"

[sink.retry]
attempts = 3
backoff_seconds = 2.5

[schedule]
cron = "0 3 * * *"
timezone = "UTC"
''',
    "logging.ini": crlf('''[loggers]
keys = root,datapipe

[handlers]
keys = console

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers = console

[logger_datapipe]
level = INFO
handlers = console
qualname = datapipe
propagate = 0

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = plain

[formatter_plain]
format = %(asctime)s %(levelname)s %(name)s: %(message)s
'''),
    "docker-compose.yml": '''services:
  db:
    image: postgres:15.4
    environment:
      POSTGRES_USER: etl
      POSTGRES_DB: warehouse
    ports:
      - "5432:5432"
  worker:
    build: .
    command: python -m datapipe.worker
    depends_on:
      - db
    environment:
      DATAPIPE_BATCH_SIZE: "500"
''',
    "docs/operations.md": '''# Operating datapipe

Every enviroment needs a `logging.ini` and a `datapipe.toml`.

* Staging: the nightly job runs at 03:00 UTC.
* Production: set `DATAPIPE_BATCH_SIZE` in the enviroment of the worker.

Up to 250 users are supported (`MAX_USERS`).
''',
}


_G, _S, _D = GEOKIT, TINYSHOP, DATAPIPE

_SPECS: list[tuple[str, str, dict[str, str], dict[str, list[tuple[str, str, int]]]]] = [
    # (id, text, repo, edits)
    ("instr-py-1", "rename calc_area to area", _G, {
        "geokit/shapes.py": [("def calc_area(", "def area(", 1), ("sum(calc_area(w, h)", "sum(area(w, h)", 1)],
        "geokit/__init__.py": [("import calc_area, calc_area_total", "import area, calc_area_total", 1)],
        "geokit/cli.py": [("import calc_area, perimeter", "import area, perimeter", 1),
                          ("{calc_area(width", "{area(width", 1)]}),
    ("instr-py-2", "Rename the constant MAX_USERS to USER_LIMIT.", _D, {
        "datapipe/limits.py": [("MAX_USERS = 250", "USER_LIMIT = 250", 1)],
        "datapipe/scheduler.py": [("BATCH_SIZE, MAX_USERS, MAX", "BATCH_SIZE, USER_LIMIT, MAX", 1),
                                  ("len(users) > MAX_USERS:", "len(users) > USER_LIMIT:", 1),
                                  ('% MAX_USERS)', '% USER_LIMIT)', 1)],
        "datapipe/api.py": [("limits.MAX_USERS", "limits.USER_LIMIT", 2)]}),
    ("instr-py-3", "change BATCH_SIZE in datapipe/limits.py to 1000", _D, {
        "datapipe/limits.py": [("BATCH_SIZE = 500", "BATCH_SIZE = 1000", 1)]}),
    ("instr-py-4", "fix the typo 'seperator' in geokit/units.py", _G, {
        "geokit/units.py": [("seperator", "separator", 2)]}),
    ("instr-py-5", 'make format_dims use " by " as its default separator', _G, {
        "geokit/units.py": [('sep=" x "', 'sep=" by "', 1)]}),
    ("instr-json-1", "turn debug off in config.json", _G, {
        "config.json": [('"debug": true', '"debug": false', 1)]}),
    ("instr-json-2", "Exports should be 300 dpi instead of 150 (config.json).", _G, {
        "config.json": [('"dpi": 150', '"dpi": 300', 1)]}),
    ("instr-json-3", "release 0.5.0", _S, {
        "package.json": [('"version": "0.4.1"', '"version": "0.5.0"', 1)]}),
    ("instr-json-4", "in .eslintrc.json make the semi rule an error instead of a warning", _S, {
        ".eslintrc.json": [('"semi": ["warn", "always"]', '"semi": ["error", "always"]', 1)]}),
    ("instr-json-5", "rename the npm package to @acme/tinyshop", _S, {
        "package.json": [('"name": "tinyshop"', '"name": "@acme/tinyshop"', 1)]}),
    ("instr-toml-1", "bump the version to 1.3.0", _G, {
        "pyproject.toml": [('version = "1.2.0"', 'version = "1.3.0"', 1)],
        "geokit/__init__.py": [('__version__ = "1.2.0"', '__version__ = "1.3.0"', 1)]}),
    ("instr-toml-2", "set black's line-length to 100 in pyproject.toml", _G, {
        "pyproject.toml": [("line-length = 88", "line-length = 100", 1)]}),
    ("instr-toml-3", "bump requires-python to >=3.10", _G, {
        "pyproject.toml": [('requires-python = ">=3.9"', 'requires-python = ">=3.10"', 1)]}),
    ("instr-toml-4", "The sink should retry 5 times, not 3. Update datapipe.toml.", _D, {
        "datapipe.toml": [("attempts = 3", "attempts = 5", 1)]}),
    ("instr-toml-5", 'set the schedule cron in datapipe.toml to "0 4 * * *"', _D, {
        "datapipe.toml": [('cron = "0 3 * * *"', 'cron = "0 4 * * *"', 1)]}),
    ("instr-ini-1", "set the port in settings.ini to 9090", _G, {
        "settings.ini": [("port = 8080", "port = 9090", 1)]}),
    ("instr-ini-2", "set the cache ttl to 600 in settings.ini", _G, {
        "settings.ini": [("ttl = 300", "ttl = 600", 1)]}),
    ("instr-ini-3", "release 1.3.1", _D, {
        "setup.cfg": [("version = 1.3.0", "version = 1.3.1", 1)],
        "datapipe/__init__.py": [('"1.3.0"', '"1.3.1"', 1)]}),
    ("instr-ini-4", "raise flake8's max-line-length to 120 in setup.cfg", _D, {
        "setup.cfg": [("max-line-length = 100", "max-line-length = 120", 1)]}),
    ("instr-ini-5", "In logging.ini, set the level of the datapipe logger to DEBUG.", _D, {
        "logging.ini": [("level = INFO", "level = DEBUG", 1)]}),
    ("instr-yaml-1", "set the database pool max to 20 in config/app.yaml", _S, {
        "config/app.yaml": [("    max: 10", "    max: 20", 1)]}),
    ("instr-yaml-2", "change the log level to debug in config/app.yaml", _S, {
        "config/app.yaml": [("level: info", "level: debug", 1)]}),
    ("instr-yaml-3", "use node 20 in the CI workflow", _S, {
        ".github/workflows/ci.yml": [("node-version: 18", "node-version: 20", 1)]}),
    ("instr-yaml-4", "upgrade the postgres image in docker-compose.yml to 16.2", _D, {
        "docker-compose.yml": [("image: postgres:15.4", "image: postgres:16.2", 1)]}),
    ("instr-yaml-5", "set DATAPIPE_BATCH_SIZE to 1000 in docker-compose.yml", _D, {
        "docker-compose.yml": [('DATAPIPE_BATCH_SIZE: "500"', 'DATAPIPE_BATCH_SIZE: "1000"', 1)]}),
    ("instr-md-1", "fix the typo 'recieve' in README.md", _G, {
        "README.md": [("recieve", "receive", 2)]}),
    ("instr-md-2", "change the URL http://old.example.com to https://new.example.com in docs/setup.md", _G, {
        "docs/setup.md": [("http://old.example.com", "https://new.example.com", 2)]}),
    ("instr-md-3", "docs/operations.md misspells 'environment', please fix it", _D, {
        "docs/operations.md": [("enviroment", "environment", 2)]}),
    ("instr-md-4", "fix the spelling of 'dependancies' in README.md", _S, {
        "README.md": [("dependancies", "dependencies", 2)]}),
    ("instr-md-5", "In CHANGELOG.md the 1.2.0 release date should be 2024-03-19.", _G, {
        "CHANGELOG.md": [("## 1.2.0 - 2024-03-18", "## 1.2.0 - 2024-03-19", 1)]}),
    ("instr-js-1", "rename formatPrice to formatCurrency", _S, {
        "src/cart.js": [("function formatPrice(", "function formatCurrency(", 1),
                        ("return formatPrice(low) + ' - ' + formatPrice(high)",
                         "return formatCurrency(low) + ' - ' + formatCurrency(high)", 1),
                        ("MAX_ITEMS, formatPrice, formatPriceRange }", "MAX_ITEMS, formatCurrency, formatPriceRange }", 1)],
        "src/server.js": [("{ Cart, formatPrice }", "{ Cart, formatCurrency }", 1),
                          ("total: formatPrice(", "total: formatCurrency(", 1)],
        "src/checkout.js": [("MAX_ITEMS, formatPrice, formatPriceRange }", "MAX_ITEMS, formatCurrency, formatPriceRange }", 1),
                            ("total ${formatPrice(", "total ${formatCurrency(", 1)]}),
    ("instr-js-2", "rename the constant MAX_ITEMS to CART_LIMIT", _S, {
        "src/cart.js": [("const MAX_ITEMS = 50", "const CART_LIMIT = 50", 1),
                        (">= MAX_ITEMS)", ">= CART_LIMIT)", 1), ("{ Cart, MAX_ITEMS,", "{ Cart, CART_LIMIT,", 1)],
        "src/checkout.js": [("{ MAX_ITEMS,", "{ CART_LIMIT,", 1), ("= MAX_ITEMS - count", "= CART_LIMIT - count", 1)]}),
    ("instr-js-3", "in src/server.js, change the default port from 3000 to 8080", _S, {
        "src/server.js": [("process.env.PORT || 3000", "process.env.PORT || 8080", 1)]}),
    ("instr-js-4", "fix the typo 'retreive' in src/api.js", _S, {
        "src/api.js": [("retreive", "retrieve", 1)]}),
    ("instr-js-5", "point the catalog client at https://catalog.example.com/v2", _S, {
        "src/api.js": [("'http://catalog.internal:8000/v1'", "'https://catalog.example.com/v2'", 1)]}),
]


def instruction_tasks() -> list[InstructionTask]:
    """The main instruction tasks, the same on every call."""
    return [make_task(id, id.split("-")[1], text, repo, edits) for id, text, repo, edits in _SPECS]
