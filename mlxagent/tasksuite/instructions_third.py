'''A third held-out set of instruction tasks, over two new small repositories.

These tasks were written blind by a helper session on 2026-12-05: the author did not open the
agent's request handling (mlxagent/core/), the other instruction task sets, their tests or
BENCHMARKS.md; only `make_task`, `crlf` and instruction_runner's `InstructionTask` format were
read. They exist so that the agent's score on plain requests can be measured on text that no one
tuning the agent has seen, which keeps that number honest.

Two repositories: "quillbot", a Python book-club chat bot (pyproject.toml, tox.ini, a TOML runtime
config, a CRLF .ini secrets template, YAML command definitions and CI), and "tabtamer", a Chrome
extension (manifest.json, package.json, locale messages, ES-module JS, a CRLF changelog, a release
workflow and a small Python pack script). There are 21 tasks with exact expected bytes (3 per file
kind) and 6 requests no rule can carry out (features, tests, a refactor, an explanation).

    from mlxagent.tasksuite.instructions_third import third_tasks
    tasks = third_tasks()
'''

from __future__ import annotations

from .instruction_runner import CANNOT, InstructionTask
from .instructions import crlf, make_task

__all__ = ["third_instruction_tasks", "third_cannot_tasks", "third_tasks"]


# --- repository 1: quillbot, a Python chat bot for book clubs --------------------------------

_QUILL_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "quillbot"
version = "0.9.3"
description = "A chat bot that keeps book-club reminders and reading lists"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
    "aiohttp>=3.9",
    "PyYAML>=6.0",
    "tomli>=2.0; python_version < '3.11'",
]

[project.optional-dependencies]
dev = ["pytest>=8.0", "pytest-asyncio>=0.23", "ruff>=0.4"]

[project.scripts]
quillbot = "quill.cli:main"

[tool.ruff]
line-length = 100
target-version = "py310"

[tool.pytest.ini_options]
asyncio_mode = "auto"
testpaths = ["tests"]
'''

_QUILL_TOX = '''\
[tox]
envlist = py310, py311, py312, lint
isolated_build = true

[testenv]
deps =
    pytest>=8.0
    pytest-asyncio>=0.23
commands = pytest {posargs}

[testenv:lint]
deps = ruff>=0.4
commands = ruff check quill tests

[flake8]
max-line-length = 100
exclude = .tox,build,dist
'''

_QUILL_BOT_TOML = '''\
# Runtime settings for quillbot. Secrets live in secrets.ini, not here.

[bot]
name = "Quill"
prefix = "!"
status_message = "Reading along with you"
owner_id = 184467440737095516
debug = false

[bot.limits]
max_reminders_per_user = 10
max_list_length = 50
cooldown_seconds = 3

[gateway]
url = "wss://gateway.chatnet.example/v10"
heartbeat_interval = 41250
reconnect_delay = 5
max_reconnect_delay = 300

[storage]
backend = "sqlite"
path = "data/quill.db"
backup_every_hours = 24

[reminders]
default_timezone = "UTC"
default_lead_minutes = 30
allow_dm = true

[health]
host = "127.0.0.1"
port = 8080

[metrics]
enabled = false
port = 9090

[logging]
level = "INFO"
file = "logs/quill.log"
rotate_mb = 5
'''

_QUILL_SECRETS = crlf('''\
; Copy this file to secrets.ini and fill in real values.
; Never commit secrets.ini.

[chatnet]
token = YOUR_BOT_TOKEN_HERE
application_id = 000000000000000000
api_base = https://api.chatnet.example/v10

[goodreads]
api_key = YOUR_GOODREADS_KEY
api_url = https://www.goodreads.example/api
timeout = 10

[database]
encryption_key = change-me
''')

_QUILL_COMMANDS = '''\
# Command definitions; the help text is shown by !help
commands:
  remind:
    description: Set a reminder for the next meeting
    usage: "!remind <when> <message>"
    cooldown: 3
    enabled: true
  reminders:
    description: List your upcoming reminders
    usage: "!reminders"
    cooldown: 3
    enabled: true
  readinglist:
    description: Show the club's reading list
    usage: "!readinglist [page]"
    cooldown: 5
    enabled: true
  addbook:
    description: Add a book to the reading list
    usage: "!addbook <title> by <author>"
    cooldown: 10
    enabled: true
    roles:
      - moderator
      - organizer
  poll:
    description: Start a poll for the next book
    usage: "!poll <option1> | <option2> | ..."
    cooldown: 30
    enabled: false
    roles:
      - organizer
'''

_QUILL_CI = '''\
name: CI

on:
  push:
    branches: [main]
  pull_request:

jobs:
  test:
    runs-on: ubuntu-22.04
    strategy:
      matrix:
        python-version: ["3.10", "3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
      - run: pip install -e .[dev]
      - run: pytest -q
  lint:
    runs-on: ubuntu-22.04
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install ruff
      - run: ruff check quill tests
'''

_QUILL_README = '''\
# quillbot

Quill is a small chat bot for book clubs: it reminds members about meetings and keeps the
reading list in one place.

## Setup

1. `pip install -e .`
2. Copy `config/secrets.example.ini` to `config/secrets.ini` and paste your bot token.
3. Run `quillbot --config config/bot.toml`.

## Commands

- `!remind <when> <message>` - set a reminder
- `!reminders` - list your reminders
- `!readinglist` - show the reading list
- `!addbook <title> by <author>` - add a book (moderators only)

Reminders are sent 30 minutes before the meeting by default; change `default_lead_minutes`
in `config/bot.toml` to adjust this.

## Developement

Run the tests with `tox`, or `pytest -q` inside a virtualenv. The bot talks to the gateway at
`wss://gateway.chatnet.example/v10`.

## License

MIT
'''

_QUILL_INIT = '''\
"""quillbot: book-club reminders and reading lists."""

__version__ = "0.9.3"
'''

_QUILL_STORAGE = '''\
"""SQLite storage for reminders and the reading list."""

import sqlite3
from pathlib import Path

DEFAULT_DB_PATH = "data/quill.db"
SCHEMA_VERSION = 3


class Storage:
    def __init__(self, path: str = DEFAULT_DB_PATH, timeout: float = 5.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=timeout)
        self.conn.row_factory = sqlite3.Row

    def add_reminder(self, user_id: int, when: str, message: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO reminders (user_id, due_at, message) VALUES (?, ?, ?)",
            (user_id, when, message),
        )
        self.conn.commit()
        return cur.lastrowid

    def reminders_for(self, user_id: int, limit: int = 10) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM reminders WHERE user_id = ? ORDER BY due_at LIMIT ?",
            (user_id, limit),
        ).fetchall()

    def add_book(self, title: str, author: str) -> None:
        self.conn.execute("INSERT INTO books (title, author) VALUES (?, ?)", (title, author))
        self.conn.commit()

    def reading_list(self, page: int = 1, per_page: int = 10) -> list[sqlite3.Row]:
        offset = (page - 1) * per_page
        return self.conn.execute(
            "SELECT * FROM books ORDER BY added_at LIMIT ? OFFSET ?", (per_page, offset)
        ).fetchall()
'''

_QUILL_REMINDERS = '''\
"""Reminder scheduling."""

from datetime import datetime, timedelta, timezone

from .storage import Storage

DEFAULT_LEAD_MINUTES = 30


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """Parse '2h', '45m' or an ISO timestamp into an aware datetime."""
    now = now or datetime.now(timezone.utc)
    if text.endswith("h") and text[:-1].isdigit():
        return now + timedelta(hours=int(text[:-1]))
    if text.endswith("m") and text[:-1].isdigit():
        return now + timedelta(minutes=int(text[:-1]))
    return datetime.fromisoformat(text)


def schedule_reminder(
    store: Storage, user_id: int, when: str, message: str, lead_minutes: int = DEFAULT_LEAD_MINUTES
) -> datetime:
    """Store one reminder, due `lead_minutes` before `when`."""
    due = parse_when(when) - timedelta(minutes=lead_minutes)
    store.add_reminder(user_id, due.isoformat(), message)
    return due


def schedule_reminders(store: Storage, user_ids: list[int], when: str, message: str) -> int:
    """Store the same reminder for every user; returns how many were stored."""
    for user_id in user_ids:
        schedule_reminder(store, user_id, when, message)
    return len(user_ids)
'''

_QUILL_BOT = '''\
"""The chat bot: connects to the gateway and dispatches commands."""

import asyncio
import logging

from .reminders import schedule_reminder, schedule_reminders
from .storage import Storage

log = logging.getLogger("quill")

GATEWAY_URL = "wss://gateway.chatnet.example/v10"
RECONNECT_DELAY = 5
MAX_RECONNECT_DELAY = 300


class QuillBot:
    def __init__(self, token: str, store: Storage, prefix: str = "!"):
        self.token = token
        self.store = store
        self.prefix = prefix
        self.handlers = {
            "remind": self.cmd_remind,
            "reminders": self.cmd_reminders,
            "readinglist": self.cmd_readinglist,
            "addbook": self.cmd_addbook,
        }

    async def cmd_remind(self, user_id: int, args: list[str]) -> str:
        if len(args) < 2:
            return "Usage: !remind <when> <message>"
        due = schedule_reminder(self.store, user_id, args[0], " ".join(args[1:]))
        return f"Okay, I'll remind you at {due:%H:%M} UTC."

    async def cmd_reminders(self, user_id: int, args: list[str]) -> str:
        rows = self.store.reminders_for(user_id)
        if not rows:
            return "You have no reminders."
        return "\\n".join(f"- {row['due_at']}: {row['message']}" for row in rows)

    async def cmd_readinglist(self, user_id: int, args: list[str]) -> str:
        page = int(args[0]) if args else 1
        books = self.store.reading_list(page)
        if not books:
            return "The reading list is empty."
        return "\\n".join(f"{i}. {b['title']} by {b['author']}" for i, b in enumerate(books, 1))

    async def cmd_addbook(self, user_id: int, args: list[str]) -> str:
        title, _, author = " ".join(args).partition(" by ")
        if not author:
            return "Usage: !addbook <title> by <author>"
        self.store.add_book(title.strip(), author.strip())
        return f"Added '{title.strip()}' to the reading list."

    async def remind_club(self, member_ids: list[int], when: str) -> int:
        return schedule_reminders(self.store, member_ids, when, "Book club meeting!")

    async def run(self) -> None:
        delay = RECONNECT_DELAY
        while True:
            try:
                await self.connect(GATEWAY_URL)
                delay = RECONNECT_DELAY
            except ConnectionError as exc:
                log.warning("gateway connection lost: %s; retrying in %ss", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY)

    async def connect(self, url: str) -> None:
        raise ConnectionError("not implemented in this build")
'''

_QUILL_CLI = '''\
"""Command-line entry point."""

import argparse
import asyncio
import configparser
import tomllib

from .bot import QuillBot
from .storage import Storage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quillbot", description="Run the Quill book-club bot.")
    parser.add_argument("--config", default="config/bot.toml", help="path to bot.toml")
    parser.add_argument("--secrets", default="config/secrets.ini", help="path to secrets.ini")
    parser.add_argument("--verbose", action="store_true", help="log at DEBUG level")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with open(args.config, "rb") as fh:
        config = tomllib.load(fh)
    secrets = configparser.ConfigParser(interpolation=None)
    secrets.read(args.secrets)
    store = Storage(config["storage"]["path"])
    bot = QuillBot(secrets["chatnet"]["token"], store, prefix=config["bot"]["prefix"])
    asyncio.run(bot.run())
    return 0
'''

QUILL_REPO: dict[str, str] = {
    "pyproject.toml": _QUILL_PYPROJECT,
    "tox.ini": _QUILL_TOX,
    "config/bot.toml": _QUILL_BOT_TOML,
    "config/secrets.example.ini": _QUILL_SECRETS,
    "config/commands.yaml": _QUILL_COMMANDS,
    ".github/workflows/ci.yml": _QUILL_CI,
    "README.md": _QUILL_README,
    "quill/__init__.py": _QUILL_INIT,
    "quill/storage.py": _QUILL_STORAGE,
    "quill/reminders.py": _QUILL_REMINDERS,
    "quill/bot.py": _QUILL_BOT,
    "quill/cli.py": _QUILL_CLI,
}


# --- repository 2: tabtamer, a Chrome extension ----------------------------------------------

_TAB_MANIFEST = '''\
{
  "manifest_version": 3,
  "name": "__MSG_extName__",
  "description": "__MSG_extDescription__",
  "version": "2.3.1",
  "default_locale": "en",
  "permissions": ["tabs", "storage", "alarms"],
  "host_permissions": ["https://api.tabtamer.example/*"],
  "background": {
    "service_worker": "src/background.js",
    "type": "module"
  },
  "options_ui": {
    "page": "options.html",
    "open_in_tab": false
  },
  "action": {
    "default_title": "Tab Tamer",
    "default_icon": {
      "16": "icons/icon16.png",
      "32": "icons/icon32.png",
      "48": "icons/icon48.png",
      "128": "icons/icon128.png"
    }
  },
  "icons": {
    "48": "icons/icon48.png",
    "128": "icons/icon128.png"
  },
  "minimum_chrome_version": "110"
}
'''

_TAB_PACKAGE = '''\
{
  "name": "tabtamer",
  "version": "2.3.1",
  "private": true,
  "description": "Suspend idle tabs and group them by site",
  "scripts": {
    "lint": "eslint src",
    "test": "jest --coverage",
    "build": "python3 scripts/pack.py --out dist/tabtamer.zip",
    "watch": "web-ext run --source-dir . --browser-console"
  },
  "devDependencies": {
    "eslint": "^8.57.0",
    "jest": "^29.7.0",
    "web-ext": "^7.11.0"
  },
  "jest": {
    "testEnvironment": "jsdom",
    "coverageThreshold": {
      "global": {
        "lines": 80
      }
    }
  }
}
'''

_TAB_MESSAGES = '''\
{
  "extName": {
    "message": "Tab Tamer",
    "description": "Name of the extension."
  },
  "extDescription": {
    "message": "Suspend idle tabs and group them by site.",
    "description": "Description shown in the store."
  },
  "optionsTitle": {
    "message": "Tab Tamer settings"
  },
  "idleMinutesLabel": {
    "message": "Suspend tabs after this many minutes of inactivty"
  },
  "whitelistLabel": {
    "message": "Never suspend these sites"
  },
  "savedToast": {
    "message": "Settings saved."
  },
  "suspendedTitle": {
    "message": "Suspended: $TITLE$",
    "placeholders": {
      "title": { "content": "$1" }
    }
  }
}
'''

_TAB_STORAGE_JS = '''\
// Thin wrapper around chrome.storage.sync with defaults.

export const DEFAULTS = {
  idleMinutes: 30,
  maxTabs: 50,
  groupBySite: true,
  suspendPinned: false,
  whitelist: ["mail.google.com", "calendar.google.com"],
  syncUrl: "https://api.tabtamer.example/v1/sync",
};

export async function loadSettings() {
  const stored = await chrome.storage.sync.get(DEFAULTS);
  return { ...DEFAULTS, ...stored };
}

export async function saveSettings(settings) {
  await chrome.storage.sync.set(settings);
}

export async function resetSettings() {
  await chrome.storage.sync.clear();
  return { ...DEFAULTS };
}
'''

_TAB_BACKGROUND_JS = '''\
import { loadSettings } from "./storage.js";

const ALARM_NAME = "tabtamer-sweep";
const SWEEP_PERIOD_MINUTES = 5;

chrome.runtime.onInstalled.addListener(() => {
  chrome.alarms.create(ALARM_NAME, { periodInMinutes: SWEEP_PERIOD_MINUTES });
});

chrome.alarms.onAlarm.addListener(async (alarm) => {
  if (alarm.name !== ALARM_NAME) return;
  const settings = await loadSettings();
  await suspendIdleTabs(settings);
});

// True when the tab's host is a whitelisted site or one of its subdomains.
function isWhitelisted(url, whitelist) {
  try {
    const host = new URL(url).hostname;
    return whitelist.some((site) => host === site || host.endsWith("." + site));
  } catch (e) {
    return false;
  }
}

async function suspendIdleTabs(settings) {
  const cutoff = Date.now() - settings.idleMinutes * 60 * 1000;
  const tabs = await chrome.tabs.query({ active: false, discarded: false });
  for (const tab of tabs) {
    if (tab.pinned && !settings.suspendPinned) continue;
    if (isWhitelisted(tab.url, settings.whitelist)) continue;
    if (tab.lastAccessed && tab.lastAccessed < cutoff) {
      await chrome.tabs.discard(tab.id);
    }
  }
}
'''

_TAB_OPTIONS_JS = '''\
import { loadSettings, saveSettings, resetSettings } from "./storage.js";

const TOAST_MS = 2000;

function $(id) {
  return document.getElementById(id);
}

function render(settings) {
  $("idle-minutes").value = settings.idleMinutes;
  $("max-tabs").value = settings.maxTabs;
  $("group-by-site").checked = settings.groupBySite;
  $("suspend-pinned").checked = settings.suspendPinned;
  $("whitelist").value = settings.whitelist.join("\\n");
}

function collect() {
  return {
    idleMinutes: Number($("idle-minutes").value) || 30,
    maxTabs: Number($("max-tabs").value) || 50,
    groupBySite: $("group-by-site").checked,
    suspendPinned: $("suspend-pinned").checked,
    whitelist: $("whitelist").value.split("\\n").map((s) => s.trim()).filter(Boolean),
  };
}

function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  setTimeout(() => { toast.hidden = true; }, TOAST_MS);
}

document.addEventListener("DOMContentLoaded", async () => {
  render(await loadSettings());
  $("save").addEventListener("click", async () => {
    await saveSettings(collect());
    showToast(chrome.i18n.getMessage("savedToast"));
  });
  $("reset").addEventListener("click", async () => {
    render(await resetSettings());
    showToast("Settings reset to defaults.");
  });
});
'''

_TAB_OPTIONS_HTML = '''\
<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Tab Tamer settings</title>
  </head>
  <body>
    <label>Suspend after <input id="idle-minutes" type="number" min="1"> minutes</label>
    <label>Max tabs <input id="max-tabs" type="number" min="5"></label>
    <label><input id="group-by-site" type="checkbox"> Group by site</label>
    <label><input id="suspend-pinned" type="checkbox"> Suspend pinned tabs</label>
    <textarea id="whitelist" rows="6"></textarea>
    <button id="save">Save</button>
    <button id="reset">Reset</button>
    <div id="toast" hidden></div>
    <script type="module" src="src/options.js"></script>
  </body>
</html>
'''

_TAB_CHANGELOG = crlf('''\
# Changelog

All notable changes to Tab Tamer are documented here.

## [Unreleased]

- Options page: the toast now uses the localized "saved" message.

## [2.3.1] - 2026-10-14

### Fixed
- Pinned tabs were suspended even when "Suspend pinned tabs" was off.
- The whitelist ignored subdomains (e.g. `docs.example.com`).

## [2.3.0] - 2026-09-02

### Added
- Group tabs by site (on by default).
- Sync settings through https://api.tabtamer.example/v1/sync.

### Changed
- Default idle time raised from 20 to 30 minutes.

## [2.2.0] - 2026-07-19

### Added
- Whitelist for sites that must never be suspended.
''')

_TAB_README = '''\
# Tab Tamer

Tab Tamer suspends tabs you haven't looked at for a while and groups the rest by site, so
Chrome stays fast with 200+ tabs open.

## Install from source

1. `npm install`
2. `npm run build` - writes `dist/tabtamer.zip`
3. Open `chrome://extensions`, enable Developer mode and load the unpacked folder.

## Options

| Option | Default |
|---|---|
| Suspend after | 30 minutes |
| Max tabs | 50 |
| Group by site | on |
| Suspend pinned tabs | off |

Bug reports: https://github.com/tabtamer/tabtamer/issues
Source: https://github.com/tabtamer/tabtamer
'''

_TAB_RELEASE = '''\
name: Release

on:
  push:
    tags: ["v*"]

jobs:
  package:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 18
          cache: npm
      - run: npm ci
      - run: npm run lint
      - run: npm test
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: python3 scripts/pack.py --out dist/tabtamer.zip
      - uses: softprops/action-gh-release@v2
        with:
          files: dist/tabtamer.zip
          draft: true
'''

_TAB_ESLINT = '''\
root: true
env:
  browser: true
  es2022: true
  webextensions: true
parserOptions:
  ecmaVersion: 2022
  sourceType: module
extends: eslint:recommended
rules:
  no-unused-vars: warn
  eqeqeq: error
'''

_TAB_PACK = '''\
#!/usr/bin/env python3
"""Zip the extension for upload to the Chrome Web Store."""

import argparse
import json
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCLUDE = ["manifest.json", "options.html", "src", "icons", "_locales"]
EXCLUDE_SUFFIXES = (".map", ".test.js", ".DS_Store")


def iter_files(root: Path):
    for name in INCLUDE:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.name.endswith(EXCLUDE_SUFFIXES):
                    yield child


def pack(out: Path, compresslevel: int = 6) -> int:
    manifest = json.loads((ROOT / "manifest.json").read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for path in iter_files(ROOT):
            zf.write(path, path.relative_to(ROOT))
            count += 1
    print(f"Packed {count} files for version {manifest['version']} into {out}")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="dist/tabtamer.zip")
    parser.add_argument("--level", type=int, default=6, help="zip compression level (0-9)")
    args = parser.parse_args()
    pack(Path(args.out), args.level)


if __name__ == "__main__":
    main()
'''

TAB_REPO: dict[str, str] = {
    "manifest.json": _TAB_MANIFEST,
    "package.json": _TAB_PACKAGE,
    "_locales/en/messages.json": _TAB_MESSAGES,
    "src/storage.js": _TAB_STORAGE_JS,
    "src/background.js": _TAB_BACKGROUND_JS,
    "src/options.js": _TAB_OPTIONS_JS,
    "options.html": _TAB_OPTIONS_HTML,
    "CHANGELOG.md": _TAB_CHANGELOG,
    "README.md": _TAB_README,
    ".github/workflows/release.yml": _TAB_RELEASE,
    ".eslintrc.yml": _TAB_ESLINT,
    "scripts/pack.py": _TAB_PACK,
}


# --- the tasks -----------------------------------------------------------------------------

def third_instruction_tasks() -> list[InstructionTask]:
    """The 21 tasks with exact expected bytes, 3 per file kind, in a fixed order."""
    Q, T = QUILL_REPO, TAB_REPO
    return [
        # py
        make_task("instr-py-t1", "py",
                  "rename the function schedule_reminder -> queue_reminder and update its callers",
                  Q, {
                      "quill/reminders.py": [
                          ("def schedule_reminder(", "def queue_reminder(", 1),
                          ("        schedule_reminder(store,", "        queue_reminder(store,", 1),
                      ],
                      "quill/bot.py": [
                          ("import schedule_reminder, schedule_reminders",
                           "import queue_reminder, schedule_reminders", 1),
                          ("due = schedule_reminder(self.store", "due = queue_reminder(self.store", 1),
                      ],
                  }),
        make_task("instr-py-t2", "py",
                  "Storage.reading_list should default to 20 books per page, not 10",
                  Q, {"quill/storage.py": [("page: int = 1, per_page: int = 10)",
                                            "page: int = 1, per_page: int = 20)", 1)]}),
        make_task("instr-py-t3", "py",
                  "When a user has no reminders the bot replies \"You have no reminders.\" - "
                  "change that reply to \"Nothing scheduled yet.\"",
                  Q, {"quill/bot.py": [('return "You have no reminders."',
                                        'return "Nothing scheduled yet."', 1)]}),
        # json
        make_task("instr-json-t1", "json",
                  "theres a typo in the english locale messages: inactivty",
                  T, {"_locales/en/messages.json": [("minutes of inactivty", "minutes of inactivity", 1)]}),
        make_task("instr-json-t2", "json",
                  "Remove the watch entry from the scripts in package.json.",
                  T, {"package.json": [
                      ('"build": "python3 scripts/pack.py --out dist/tabtamer.zip",\n'
                       '    "watch": "web-ext run --source-dir . --browser-console"\n',
                       '"build": "python3 scripts/pack.py --out dist/tabtamer.zip"\n', 1)]}),
        make_task("instr-json-t3", "json",
                  "the options page should open in its own tab instead of the embedded dialog",
                  T, {"manifest.json": [('"open_in_tab": false', '"open_in_tab": true', 1)]}),
        # toml
        make_task("instr-toml-t1", "toml",
                  "bump the minor version of quillbot",
                  Q, {"pyproject.toml": [('version = "0.9.3"', 'version = "0.10.0"', 1)],
                      "quill/__init__.py": [('__version__ = "0.9.3"', '__version__ = "0.10.0"', 1)]}),
        make_task("instr-toml-t2", "toml",
                  "In config/bot.toml raise bot.limits.max_reminders_per_user to 25",
                  Q, {"config/bot.toml": [("max_reminders_per_user = 10", "max_reminders_per_user = 25", 1)]}),
        make_task("instr-toml-t3", "toml",
                  "the health check port clashes with another service on the box, move it to 8081",
                  Q, {"config/bot.toml": [('host = "127.0.0.1"\nport = 8080',
                                           'host = "127.0.0.1"\nport = 8081', 1)]}),
        # ini
        make_task("instr-ini-t1", "ini",
                  "ChatNet's API is on v11 now; update api_base in the secrets template",
                  Q, {"config/secrets.example.ini": [
                      ("api_base = https://api.chatnet.example/v10",
                       "api_base = https://api.chatnet.example/v11", 1)]}),
        make_task("instr-ini-t2", "ini",
                  "set the goodreads timout to 20 in secrets.example.ini",
                  Q, {"config/secrets.example.ini": [("timeout = 10", "timeout = 20", 1)]}),
        make_task("instr-ini-t3", "ini",
                  "we lint with ruff now, drop the [flake8] section from tox.ini",
                  Q, {"tox.ini": [("\n[flake8]\nmax-line-length = 100\nexclude = .tox,build,dist\n", "", 1)]}),
        # yaml
        make_task("instr-yaml-t1", "yaml",
                  "enable the poll command",
                  Q, {"config/commands.yaml": [("enabled: false", "enabled: true", 1)]}),
        make_task("instr-yaml-t2", "yaml",
                  "Release workflow still builds on Node 18, switch it to 20.",
                  T, {".github/workflows/release.yml": [("node-version: 18", "node-version: 20", 1)]}),
        make_task("instr-yaml-t3", "yaml",
                  "only moderators should be allowed to use addbook - take organizer off its roles "
                  "in commands.yaml",
                  Q, {"config/commands.yaml": [("      - moderator\n      - organizer\n",
                                                "      - moderator\n", 1)]}),
        # md
        make_task("instr-md-t1", "md",
                  "README heading 'Developement' is misspelled",
                  Q, {"README.md": [("## Developement", "## Development", 1)]}),
        make_task("instr-md-t2", "md",
                  "2.3.1 actually shipped on 2026-10-16, fix the date in the changelog",
                  T, {"CHANGELOG.md": [("## [2.3.1] - 2026-10-14", "## [2.3.1] - 2026-10-16", 1)]}),
        make_task("instr-md-t3", "md",
                  "The bug reports link in the README should point to "
                  "https://github.com/tabtamer/extension/issues now",
                  T, {"README.md": [("Bug reports: https://github.com/tabtamer/tabtamer/issues",
                                     "Bug reports: https://github.com/tabtamer/extension/issues", 1)]}),
        # js
        make_task("instr-js-t1", "js",
                  "rename isWhitelisted to isAllowlisted",
                  T, {"src/background.js": [("isWhitelisted", "isAllowlisted", 2)]}),
        make_task("instr-js-t2", "js",
                  "background sweep runs every 5 minutes, make it every 10",
                  T, {"src/background.js": [("const SWEEP_PERIOD_MINUTES = 5;",
                                             "const SWEEP_PERIOD_MINUTES = 10;", 1)]}),
        make_task("instr-js-t3", "js",
                  "the toast on the options page disapears too fast, keep it up for 3.5 seconds",
                  T, {"src/options.js": [("const TOAST_MS = 2000;", "const TOAST_MS = 3500;", 1)]}),
    ]


def third_cannot_tasks() -> list[InstructionTask]:
    """Six requests no rule can carry out: features, tests, a refactor, an explanation."""
    def cannot(id: str, text: str, files: dict[str, str]) -> InstructionTask:
        return InstructionTask(id=id, text=text, files=dict(files), expected={}, kind=CANNOT)

    return [
        cannot("instr-cannot-t1",
               "add a !skip command so organizers can skip the current book, with a cooldown",
               QUILL_REPO),
        cannot("instr-cannot-t2", "write unit tests for parse_when covering the hour, minute and ISO cases",
               QUILL_REPO),
        cannot("instr-cannot-t3",
               "refactor background.js into a TabSweeper class instead of loose functions",
               TAB_REPO),
        cannot("instr-cannot-t4",
               "why do we keep settings in chrome.storage.sync rather than local? explain the tradeoff",
               TAB_REPO),
        cannot("instr-cannot-t5", "move the storage layer from sqlite to postgres", QUILL_REPO),
        cannot("instr-cannot-t6",
               "add a Firefox build to the release workflow, with its own manifest", TAB_REPO),
    ]


def third_tasks() -> list[InstructionTask]:
    """All 27 tasks: the 21 exact ones, then the 6 cannot ones."""
    return third_instruction_tasks() + third_cannot_tasks()
