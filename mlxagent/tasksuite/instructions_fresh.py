"""A second, fresh held-out set of instruction tasks: plain requests with no test behind them.

Written by a helper session on 2026-12-05 *without* reading how the agent handles requests
(nothing under mlxagent/core/ was opened) and without reading the other task sets
(instructions.py, instructions_heldout.py, instructions_blind.py; only the helpers `make_task` and
`crlf` were looked at) or the repository's intent/instruction tests. The point is an honest
measurement: tasks written by someone who knows the rules tend to be phrased the way the rules
expect, so a set written blind shows how the agent does on requests as developers actually type
them.

Three small repositories of their own flavour:
  * inkwell   - a Django-style blog app (settings, models, views, feeds, a CRLF logging.ini, a
                site.toml, a compose.yaml, a tiny esbuild package.json, markdown docs),
  * ravenfall - a realtime game server in Node (a nested game.json, an .env-style server.ini, a
                Kubernetes deployment, a protocol doc),
  * hearth    - a home-automation Python daemon (pyproject.toml, YAML config and device list, a
                notify.ini, a dashboard with its own JSON and JS).

28 exact-bytes tasks (4 per file kind in FILE_KINDS, ids instr-<kind>-f<N>) and 10 "cannot" tasks
(ids instr-cannot-f<N>). Same tasks, same order, on every call.

    from mlxagent.tasksuite.instructions_fresh import fresh_tasks
    tasks = fresh_tasks()
"""

from __future__ import annotations

from .instruction_runner import CANNOT, InstructionTask
from .instructions import crlf, make_task

__all__ = ["fresh_instruction_tasks", "fresh_cannot_tasks", "fresh_tasks"]


# --- repository 1: inkwell, a Django-style blog ----------------------------------------

_INKWELL_SETTINGS = '''\
"""Settings for the inkwell blog (Django-style)."""

import os

DEBUG = False
SITE_NAME = "Inkwell"
SITE_URL = "https://inkwell.example.org"
ALLOWED_HOSTS = ["inkwell.example.org", "www.inkwell.example.org", "localhost"]

POSTS_PER_PAGE = 10
COMMENTS_PER_PAGE = 25
MAX_COMMENT_LENGTH = 2000
COMMENT_MODERATION = True  # hold comments from first-time authors

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "inkwell",
        "HOST": os.environ.get("DB_HOST", "db.internal"),
        "PORT": 5432,
    }
}

CACHE_TTL = 300  # seconds
FEED_CACHE_TTL = 900
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
'''

_INKWELL_MODELS = '''\
from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    body = models.TextField()
    published_at = models.DateTimeField(null=True, blank=True)
    is_draft = models.BooleanField(default=True)

    def __str__(self):
        return self.title

    def excerpt(self, words=40):
        """First `words` words of the body, for listings and feeds."""
        return " ".join(self.body.split()[:words])


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author_name = models.CharField(max_length=80)
    author_email = models.EmailField()
    text = models.TextField()
    approved = models.BooleanField(default=False)

    def __str__(self):
        return f"Comment by {self.author_name} on {self.post}"
'''

_INKWELL_VIEWS = '''\
from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from .models import Comment, Post


def published_posts():
    return Post.objects.filter(is_draft=False).order_by("-published_at")


def post_list(request):
    pages = Paginator(published_posts(), settings.POSTS_PER_PAGE)
    page = pages.get_page(request.GET.get("page"))
    return render(request, "blog/post_list.html", {"page": page})


def post_detail(request, slug):
    post = get_object_or_404(Post, slug=slug)
    comments = post.comments.filter(approved=True)
    return render(request, "blog/post_detail.html", {"post": post, "comments": comments})


def submit_comment(request, slug):
    post = get_object_or_404(Post, slug=slug)
    text = request.POST.get("text", "")
    if len(text) > settings.MAX_COMMENT_LENGTH:
        return render(request, "blog/error.html", {"message": "Comment is to long."}, status=400)
    Comment.objects.create(post=post, author_name=request.POST["name"],
                           author_email=request.POST["email"], text=text,
                           approved=not settings.COMMENT_MODERATION)
    return render(request, "blog/thanks.html",
                  {"message": "Thanks! Your comment is awaiting moderation."})
'''

_INKWELL_FEEDS = '''\
from django.conf import settings
from django.contrib.syndication.views import Feed

from .views import published_posts

FEED_ITEMS = 20


class LatestPostsFeed(Feed):
    title = settings.SITE_NAME
    link = "/posts/"
    description = "Latest posts from Inkwell."

    def items(self):
        return published_posts()[:FEED_ITEMS]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.excerpt(words=60)
'''

_INKWELL_SITE_TOML = '''\
# Site-wide options read by the inkwell build scripts
[site]
name = "Inkwell"
tagline = "Notes on writing, type and paper"
base_url = "https://inkwell.example.org"
language = "en-gb"

[feed]
enabled = true
items = 20
full_text = false

[comments]
enabled = true
moderation = true
max_length = 2000
blocked_words = ["casino", "crypto", "viagra"]

[analytics]
provider = "plausible"
domain = "inkwell.example.org"
script_url = "https://plausible.io/js/script.js"
'''

_INKWELL_LOGGING_INI = crlf('''\
[loggers]
keys = root,blog,comments

[handlers]
keys = console,file

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers = console

[logger_blog]
level = INFO
handlers = console,file
qualname = blog

[logger_comments]
level = DEBUG
handlers = file
qualname = blog.comments

[handler_console]
class = StreamHandler
level = INFO
formatter = plain
args = (sys.stderr,)

[handler_file]
class = handlers.RotatingFileHandler
level = DEBUG
formatter = plain
args = ('/var/log/inkwell/blog.log', 'a', 10485760, 5)

[formatter_plain]
format = %(asctime)s %(levelname)s %(name)s: %(message)s
''')

_INKWELL_COMPOSE = '''\
services:
  web:
    image: ghcr.io/inkwell/blog:1.8.2
    command: gunicorn blog.wsgi --workers 2 --bind 0.0.0.0:8000
    ports:
      - "8000:8000"
    environment:
      DB_HOST: db
      DJANGO_SETTINGS_MODULE: blog.settings
    depends_on:
      - db
      - cache
  db:
    image: postgres:15
    volumes:
      - pgdata:/var/lib/postgresql/data
  cache:
    image: redis:7
    ports:
      - "6379:6379"
volumes:
  pgdata: {}
'''

_INKWELL_README = '''\
# Inkwell

A small Django blog with moderated comments and an Atom feed.

## Running locally

    docker compose -f deploy/compose.yaml up

The site is then served on http://localhost:8000. Posts are paginated ten to a page
(`POSTS_PER_PAGE` in `blog/settings.py`).

## Comments

Comments from first-time authors are held for moderation. Moderators approve them in
the admin at http://localhost:8000/admin/blog/comment/. See [docs/moderation.md](docs/moderation.md).

## Feeds

The Atom feed lives at `/feed/` and carries the most recent posts.
'''

_INKWELL_MODERATION_MD = '''\
# Moderating comments

New comments land in the moderation queue unless the author has had a comment approved
before. To review the queue, open the admin and filter by **Approved: No**.

## Blocked words

Comments that contain a blocked word (see `[comments] blocked_words` in `config/site.toml`)
are rejected outright and never reach the queue. Keep the list short; the occurence of a
blocked word inside a longer word also counts.

## Bulk actions

Select several comments and choose *Approve selected* or *Delete selected*. Deleted
comments cannot be recovered, so be carefull.
'''

_INKWELL_COMMENTS_JS = '''\
// Client-side helpers for the comment form
const MAX_LENGTH = 2000;
const COUNTER_ID = "comment-counter";

function remainingChars(text) {
  return MAX_LENGTH - text.length;
}

function updateCounter(form) {
  const left = remainingChars(form.text.value);
  const counter = document.getElementById(COUNTER_ID);
  counter.textContent = left + " characters left";
  counter.classList.toggle("over", left < 0);
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("#comment-form");
  if (!form) return;
  form.text.addEventListener("input", () => updateCounter(form));
});
'''

_INKWELL_PACKAGE_JSON = '''\
{
  "name": "inkwell-static",
  "version": "0.4.1",
  "private": true,
  "scripts": {
    "build": "esbuild static/js/comments.js --bundle --minify --outfile=static/dist/comments.min.js",
    "watch": "esbuild static/js/comments.js --bundle --watch --outfile=static/dist/comments.min.js"
  },
  "devDependencies": {
    "esbuild": "^0.19.5"
  }
}
'''

INKWELL = {
    "blog/__init__.py": "",
    "blog/settings.py": _INKWELL_SETTINGS,
    "blog/models.py": _INKWELL_MODELS,
    "blog/views.py": _INKWELL_VIEWS,
    "blog/feeds.py": _INKWELL_FEEDS,
    "config/site.toml": _INKWELL_SITE_TOML,
    "config/logging.ini": _INKWELL_LOGGING_INI,
    "deploy/compose.yaml": _INKWELL_COMPOSE,
    "README.md": _INKWELL_README,
    "docs/moderation.md": _INKWELL_MODERATION_MD,
    "static/js/comments.js": _INKWELL_COMMENTS_JS,
    "package.json": _INKWELL_PACKAGE_JSON,
}


# --- repository 2: ravenfall, a realtime game server in Node ---------------------------

_RAVEN_PACKAGE_JSON = '''\
{
  "name": "ravenfall-server",
  "version": "2.3.0",
  "description": "Realtime lobby and match server for Ravenfall",
  "main": "server/index.js",
  "type": "commonjs",
  "scripts": {
    "start": "node server/index.js",
    "dev": "nodemon server/index.js",
    "test": "node --test test/"
  },
  "engines": {
    "node": ">=18"
  },
  "dependencies": {
    "ws": "^8.14.2",
    "dotenv": "^16.3.1"
  }
}
'''

_RAVEN_GAME_JSON = '''\
{
  "server": {
    "tickRate": 30,
    "maxPlayers": 64,
    "region": "eu-west"
  },
  "lobby": {
    "minPlayers": 2,
    "maxPlayers": 8,
    "countdownSeconds": 10,
    "allowSpectators": false
  },
  "matchmaking": {
    "ratingWindow": 150,
    "widenEverySeconds": 15,
    "maxRatingWindow": 600,
    "modes": ["duel", "squad", "ffa", "ranked"]
  },
  "maps": [
    {"id": "harbor", "name": "Harbor", "maxPlayers": 8},
    {"id": "quarry", "name": "Quarry", "maxPlayers": 4},
    {"id": "ashfield", "name": "Ashfield", "maxPlayers": 8}
  ]
}
'''

_RAVEN_SERVER_INI = '''\
; Ravenfall server environment. Copy to server.local.ini to override.
[server]
HOST = 0.0.0.0
PORT = 7350
PUBLIC_URL = wss://play.ravenfall.gg/ws
LOG_LEVEL = info

[redis]
REDIS_URL = redis://cache.ravenfall.internal:6379/0
REDIS_PREFIX = rf:

[auth]
AUTH_URL = https://auth.ravenfall.gg/v1/verify
SESSION_TTL = 3600
ALLOW_GUESTS = true

[metrics]
STATSD_HOST = metrics.ravenfall.internal
STATSD_PORT = 8125
'''

_RAVEN_INDEX_JS = '''\
require("dotenv").config();
const { WebSocketServer } = require("ws");
const config = require("../config/game.json");
const { Lobby } = require("./lobby");
const { Matchmaker } = require("./matchmaker");
const { decodeMessage, encodeMessage } = require("./protocol");

const PORT = Number(process.env.PORT || 7350);
const TICK_MS = Math.round(1000 / config.server.tickRate);

const matchmaker = new Matchmaker(config.matchmaking);
const lobbies = new Map();

function lobbyFor(id) {
  if (!lobbies.has(id)) {
    lobbies.set(id, new Lobby(id, config.lobby));
  }
  return lobbies.get(id);
}

const wss = new WebSocketServer({ port: PORT });

wss.on("connection", (socket) => {
  socket.on("message", (raw) => {
    const msg = decodeMessage(raw);
    if (msg.type === "join") {
      lobbyFor(msg.lobby).addPlayer(msg.player, socket);
    } else if (msg.type === "queue") {
      matchmaker.enqueue(msg.player, msg.rating);
    }
  });
  socket.send(encodeMessage({ type: "hello", tick: TICK_MS }));
});

setInterval(() => matchmaker.tick(), TICK_MS);
console.log(`Ravenfall server listening on ${PORT}`);
'''

_RAVEN_PROTOCOL_JS = '''\
// Wire format: JSON text frames, one message per frame.
const PROTOCOL_VERSION = 3;

function encodeMessage(msg) {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...msg });
}

function decodeMessage(raw) {
  const msg = JSON.parse(raw.toString());
  if (msg.v !== PROTOCOL_VERSION) {
    throw new Error("Unsupported protcol version: " + msg.v);
  }
  return msg;
}

module.exports = { PROTOCOL_VERSION, encodeMessage, decodeMessage };
'''

_RAVEN_LOBBY_JS = '''\
class Lobby {
  constructor(id, options) {
    this.id = id;
    this.minPlayers = options.minPlayers;
    this.maxPlayers = options.maxPlayers;
    this.players = new Map();
    this.countdown = null;
  }

  addPlayer(player, socket) {
    if (this.players.size >= this.maxPlayers) {
      socket.send(JSON.stringify({ type: "error", reason: "Lobby is full" }));
      return false;
    }
    this.players.set(player, socket);
    if (this.players.size >= this.minPlayers && !this.countdown) {
      this.startCountdown();
    }
    return true;
  }

  startCountdown(seconds = 10) {
    this.countdown = setTimeout(() => this.start(), seconds * 1000);
  }

  start() {
    this.countdown = null;
    for (const socket of this.players.values()) {
      socket.send(JSON.stringify({ type: "start", lobby: this.id }));
    }
  }
}

module.exports = { Lobby };
'''

_RAVEN_MATCHMAKER_JS = '''\
class Matchmaker {
  constructor(options) {
    this.ratingWindow = options.ratingWindow;
    this.maxRatingWindow = options.maxRatingWindow;
    this.widenEvery = options.widenEverySeconds * 1000;
    this.queue = [];
  }

  enqueue(player, rating) {
    this.queue.push({ player, rating, since: Date.now() });
  }

  // the window grows by ratingWindow every widenEvery ms, up to maxRatingWindow
  windowFor(entry) {
    const waited = Date.now() - entry.since;
    const steps = Math.floor(waited / this.widenEvery);
    return Math.min(this.ratingWindow * (1 + steps), this.maxRatingWindow);
  }

  tick() {
    this.queue.sort((a, b) => a.rating - b.rating);
    for (let i = 0; i + 1 < this.queue.length; i++) {
      const a = this.queue[i];
      const b = this.queue[i + 1];
      if (Math.abs(a.rating - b.rating) <= this.windowFor(a)) {
        this.queue.splice(i, 2);
        i--;
      }
    }
  }
}

module.exports = { Matchmaker };
'''

_RAVEN_PROTOCOL_MD = '''\
# Ravenfall wire protocol

Clients connect over WebSocket to `wss://play.ravenfall.gg/ws`. Every frame is a JSON
object with a `v` field holding the protocol version (currently 3) and a `type` field.

| type    | direction | fields                 |
|---------|-----------|------------------------|
| `hello` | server    | `tick` (ms per tick)   |
| `join`  | client    | `lobby`, `player`      |
| `queue` | client    | `player`, `rating`     |
| `start` | server    | `lobby`                |
| `error` | server    | `reason`               |

A server running protocol version 3 rejects frames from any other version.
'''

_RAVEN_README = '''\
# Ravenfall server

Lobby and matchmaking server for Ravenfall. Requires Node 18 or later.

    npm install
    npm start

Game rules (tick rate, lobby sizes, map list) live in `config/game.json`; connection
settings live in `config/server.ini`. The wire format is described in
[docs/PROTOCOL.md](docs/PROTOCOL.md).

## Maps

- Harbor - up to 8 players
- Quarry - up to 4 players
- Ashfield - up to 8 players
'''

_RAVEN_K8S = '''\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ravenfall-server
  labels:
    app: ravenfall
spec:
  replicas: 2
  selector:
    matchLabels:
      app: ravenfall
  template:
    metadata:
      labels:
        app: ravenfall
    spec:
      containers:
        - name: server
          image: registry.ravenfall.gg/server:2.3.0
          ports:
            - containerPort: 7350
          resources:
            limits:
              memory: 512Mi
              cpu: "1"
'''

RAVENFALL = {
    "package.json": _RAVEN_PACKAGE_JSON,
    "config/game.json": _RAVEN_GAME_JSON,
    "config/server.ini": _RAVEN_SERVER_INI,
    "server/index.js": _RAVEN_INDEX_JS,
    "server/protocol.js": _RAVEN_PROTOCOL_JS,
    "server/lobby.js": _RAVEN_LOBBY_JS,
    "server/matchmaker.js": _RAVEN_MATCHMAKER_JS,
    "docs/PROTOCOL.md": _RAVEN_PROTOCOL_MD,
    "README.md": _RAVEN_README,
    "deploy/k8s.yaml": _RAVEN_K8S,
}


# --- repository 3: hearth, a home-automation daemon ------------------------------------

_HEARTH_PYPROJECT = '''\
[project]
name = "hearth"
version = "0.9.3"
description = "A small home-automation daemon: MQTT in, rules, MQTT out"
requires-python = ">=3.11"
dependencies = [
    "paho-mqtt>=1.6",
    "pyyaml>=6.0",
    "astral>=3.2",
]

[project.scripts]
hearth = "hearth.daemon:main"

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

_HEARTH_YAML = '''\
# hearth daemon configuration
mqtt:
  host: 192.168.1.20
  port: 1883
  client_id: hearth-main
  topics:
    state: home/+/state
    command: home/{device}/set
  keepalive: 60

location:
  latitude: 52.37
  longitude: 4.89
  timezone: Europe/Amsterdam

rules:
  poll_interval: 5
  night_mode:
    enabled: true
    start: "23:00"
    end: "06:30"
  away_mode:
    enabled: false
    lights_off_delay: 300

logging:
  level: info
  file: /var/log/hearth/hearth.log
'''

_HEARTH_DEVICES_YAML = '''\
devices:
  - id: living_room_lamp
    type: light
    topic: home/living_room_lamp
    dimmable: true
  - id: living_room_lamp_2
    type: light
    topic: home/living_room_lamp_2
    dimmable: false
  - id: hall_sensor
    type: motion
    topic: home/hall_sensor
  - id: thermostat
    type: climate
    topic: home/thermostat
    min_temp: 16
    max_temp: 24
'''

_HEARTH_NOTIFY_INI = '''\
# Where hearth sends alerts (door left open, heating failure, ...)
[pushover]
enabled = yes
api_url = https://api.pushover.net/1/messages.json
priority = 0

[email]
enabled = no
smtp_host = smtp.example.net
smtp_port = 587
from = hearth@example.net
to = me@example.net
'''

_HEARTH_DAEMON = '''\
"""hearth daemon: connects to MQTT, feeds device state to the rules engine."""

import argparse
import logging
import time

import yaml

from .devices import load_devices
from .mqtt import MqttLink
from .rules import RuleEngine

DEFAULT_CONFIG = "/etc/hearth/hearth.yaml"
log = logging.getLogger("hearth")


def load_config(path=DEFAULT_CONFIG):
    with open(path) as fh:
        return yaml.safe_load(fh)


def run(config, once=False):
    devices = load_devices(config.get("devices_file", "/etc/hearth/devices.yaml"))
    link = MqttLink(config["mqtt"])
    engine = RuleEngine(config["rules"], devices)
    interval = config["rules"].get("poll_interval", 5)
    while True:
        for topic, payload in link.drain():
            for command in engine.handle(topic, payload):
                link.publish(command.topic, command.payload)
        if once:
            break
        time.sleep(interval)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hearth")
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--once", action="store_true", help="process pending messages and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    log.info("starting hearth with %s", args.config)
    run(load_config(args.config), once=args.once)
'''

_HEARTH_MQTT = '''\
import queue

import paho.mqtt.client as mqtt

RECONNECT_DELAY = 5


class MqttLink:
    def __init__(self, options, qos=0):
        self.client = mqtt.Client(client_id=options.get("client_id", "hearth"))
        self.qos = qos
        self.inbox = queue.Queue()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_DELAY)
        self.client.connect(options["host"], options.get("port", 1883), options.get("keepalive", 60))
        self.client.subscribe(options["topics"]["state"], qos=self.qos)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        self.inbox.put((message.topic, message.payload.decode()))

    def drain(self):
        while not self.inbox.empty():
            yield self.inbox.get_nowait()

    def publish(self, topic, payload, retain=False):
        self.client.publish(topic, payload, qos=self.qos, retain=retain)
'''

_HEARTH_DEVICES = '''\
from dataclasses import dataclass, field

import yaml

KNOWN_TYPES = ("light", "motion", "climate", "switch")


@dataclass
class Device:
    id: str
    type: str
    topic: str
    dimmable: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def command_topic(self):
        return self.topic + "/set"


def _load_devices_file(path):
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def load_devices(path):
    raw = _load_devices_file(path).get("devices", [])
    devices = []
    for entry in raw:
        if entry["type"] not in KNOWN_TYPES:
            raise ValueError(f"unknown device type {entry['type']!r} for {entry['id']}")
        known = {k: entry[k] for k in ("id", "type", "topic") if k in entry}
        extra = {k: v for k, v in entry.items() if k not in known and k != "dimmable"}
        devices.append(Device(**known, dimmable=entry.get("dimmable", False), extra=extra))
    return devices
'''

_HEARTH_RULES = '''\
from dataclasses import dataclass
from datetime import datetime, time


@dataclass
class Command:
    topic: str
    payload: str


def _parse_hhmm(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


class RuleEngine:
    def __init__(self, options, devices):
        self.devices = {d.id: d for d in devices}
        self.night = options.get("night_mode", {})
        self.away = options.get("away_mode", {})

    def is_night(self, now=None):
        if not self.night.get("enabled"):
            return False
        now = (now or datetime.now()).time()
        start, end = _parse_hhmm(self.night["start"]), _parse_hhmm(self.night["end"])
        return now >= start or now < end

    def handle(self, topic, payload):
        device_id = topic.split("/")[1]
        device = self.devices.get(device_id)
        if device is None:
            return []
        if device.type == "motion" and payload == "on" and self.is_night():
            # dim the lights at night instead of switching them fully on
            return [Command(d.command_topic, "20") for d in self.devices.values()
                    if d.type == "light" and d.dimmable]
        return []
'''

_HEARTH_README = '''\
# hearth

hearth is a small home-automation daemon. It listens to device state on MQTT, runs a
handful of rules (night-time dimming, holiday mode) and publishes commands back.

## Install

    pip install -e .
    hearth --config /etc/hearth/hearth.yaml

## Configuration

- `config/hearth.yaml` - broker address, location and rule settings
- `config/devices.yaml` - the devices hearth knows about
- `config/notify.ini` - where alerts are sent

## Holiday mode

When holiday mode is on, hearth switches every light off a few minutes after the
last motion is seen, and keeps the heating at its minimum.

## Dashboard

A small web dashboard lives in `web/`; its panels are listed in `web/panels.json`.
'''

_HEARTH_PANELS_JSON = '''\
{
  "title": "Home",
  "refreshSeconds": 10,
  "panels": [
    {"device": "living_room_lamp", "label": "Living room", "widget": "slider"},
    {"device": "living_room_lamp_2", "label": "Reading lamp", "widget": "toggle"},
    {"device": "hall_sensor", "label": "Hall", "widget": "badge"},
    {"device": "thermostat", "label": "Heating", "widget": "dial"}
  ],
  "theme": {"dark": false, "accent": "#d9822b"}
}
'''

_HEARTH_DASHBOARD_JS = '''\
const API_BASE = "http://hearth.local:8080/api";
const REFRESH_MS = 10000;

async function fetchState(deviceId) {
  const res = await fetch(`${API_BASE}/devices/${deviceId}`);
  if (!res.ok) throw new Error("Could not load " + deviceId);
  return res.json();
}

async function refreshAll(panels) {
  for (const panel of panels) {
    const state = await fetchState(panel.device);
    renderPanel(panel, state);
  }
}

function renderPanel(panel, state) {
  const el = document.querySelector(`[data-device="${panel.device}"]`);
  if (el) el.dataset.state = JSON.stringify(state);
}

setInterval(() => refreshAll(window.PANELS || []), REFRESH_MS);
'''

HEARTH = {
    "pyproject.toml": _HEARTH_PYPROJECT,
    "config/hearth.yaml": _HEARTH_YAML,
    "config/devices.yaml": _HEARTH_DEVICES_YAML,
    "config/notify.ini": _HEARTH_NOTIFY_INI,
    "hearth/__init__.py": '"""hearth: a small home-automation daemon."""\n',
    "hearth/daemon.py": _HEARTH_DAEMON,
    "hearth/mqtt.py": _HEARTH_MQTT,
    "hearth/devices.py": _HEARTH_DEVICES,
    "hearth/rules.py": _HEARTH_RULES,
    "README.md": _HEARTH_README,
    "web/panels.json": _HEARTH_PANELS_JSON,
    "web/dashboard.js": _HEARTH_DASHBOARD_JS,
}


# --- the tasks -------------------------------------------------------------------------

def fresh_instruction_tasks() -> list[InstructionTask]:
    """The 28 exact-bytes tasks, 4 per file kind, in a fixed order."""
    return [
        # py
        make_task(
            "instr-py-f1", "py",
            "typo in the comment error message, 'to long' should be 'too long'",
            INKWELL,
            {"blog/views.py": [('"Comment is to long."', '"Comment is too long."', 1)]}),
        make_task(
            "instr-py-f2", "py",
            "MqttLink should default to qos 1, we keep losing light commands",
            HEARTH,
            {"hearth/mqtt.py": [("def __init__(self, options, qos=0):",
                                 "def __init__(self, options, qos=1):", 1)]}),
        make_task(
            "instr-py-f3", "py",
            "rename load_devices to read_devices everywhere",
            HEARTH,
            {"hearth/devices.py": [("def load_devices(path):", "def read_devices(path):", 1)],
             "hearth/daemon.py": [("load_devices", "read_devices", 2)]}),
        make_task(
            "instr-py-f4", "py",
            'After posting a comment the thanks page should say "Thanks! Your comment will '
            'appear once a moderator approves it." instead of the awaiting moderation text',
            INKWELL,
            {"blog/views.py": [('"Thanks! Your comment is awaiting moderation."',
                                '"Thanks! Your comment will appear once a moderator approves it."',
                                1)]}),
        # json
        make_task(
            "instr-json-f1", "json",
            "bump the patch version of the static assets package",
            INKWELL,
            {"package.json": [('"version": "0.4.1"', '"version": "0.4.2"', 1)]}),
        make_task(
            "instr-json-f2", "json",
            "Lobbies should hold up to 12 players",
            RAVENFALL,
            {"config/game.json": [('"minPlayers": 2,\n    "maxPlayers": 8,',
                                   '"minPlayers": 2,\n    "maxPlayers": 12,', 1)]}),
        make_task(
            "instr-json-f3", "json",
            "drop ffa from the matchmaking modes in game.json, nobody plays it",
            RAVENFALL,
            {"config/game.json": [('"modes": ["duel", "squad", "ffa", "ranked"]',
                                   '"modes": ["duel", "squad", "ranked"]', 1)]}),
        make_task(
            "instr-json-f4", "json",
            "switch the dashbaord theme to dark",
            HEARTH,
            {"web/panels.json": [('"dark": false', '"dark": true', 1)]}),
        # toml
        make_task(
            "instr-toml-f1", "toml",
            "The feed should carry the full text of posts, not just excerpts. Flip it in site.toml",
            INKWELL,
            {"config/site.toml": [("full_text = false", "full_text = true", 1)]}),
        make_task(
            "instr-toml-f2", "toml",
            "remove `crypto` from the blocked words, it's blocking legit posts about cryptography",
            INKWELL,
            {"config/site.toml": [('blocked_words = ["casino", "crypto", "viagra"]',
                                   'blocked_words = ["casino", "viagra"]', 1)]}),
        make_task(
            "instr-toml-f3", "toml",
            "bump hearth's minor version",
            HEARTH,
            {"pyproject.toml": [('version = "0.9.3"', 'version = "0.10.0"', 1)]}),
        make_task(
            "instr-toml-f4", "toml",
            "ruff line length 120 pls",
            HEARTH,
            {"pyproject.toml": [("line-length = 100", "line-length = 120", 1)]}),
        # ini
        make_task(
            "instr-ini-f1", "ini",
            "the comments logger is way too noisy, put it on INFO",
            INKWELL,
            {"config/logging.ini": [("[logger_comments]\r\nlevel = DEBUG\r\n",
                                     "[logger_comments]\r\nlevel = INFO\r\n", 1)]}),
        make_task(
            "instr-ini-f2", "ini",
            "in config/server.ini the PORT should be 7400",
            RAVENFALL,
            {"config/server.ini": [("PORT = 7350", "PORT = 7400", 1)]}),
        make_task(
            "instr-ini-f3", "ini",
            "we moved redis to cache2.ravenfall.internal, update the server config",
            RAVENFALL,
            {"config/server.ini": [("redis://cache.ravenfall.internal:6379/0",
                                    "redis://cache2.ravenfall.internal:6379/0", 1)]}),
        make_task(
            "instr-ini-f4", "ini",
            "I want alerts by email too. turn email notifications on",
            HEARTH,
            {"config/notify.ini": [("[email]\nenabled = no\n", "[email]\nenabled = yes\n", 1)]}),
        # yaml
        make_task(
            "instr-yaml-f1", "yaml",
            "blog is crawling under load, give gunicorn 4 workers",
            INKWELL,
            {"deploy/compose.yaml": [("--workers 2", "--workers 4", 1)]}),
        make_task(
            "instr-yaml-f2", "yaml",
            "Run 3 replicas of the ravenfall server deployment.",
            RAVENFALL,
            {"deploy/k8s.yaml": [("replicas: 2", "replicas: 3", 1)]}),
        make_task(
            "instr-yaml-f3", "yaml",
            "the mqtt broker is at 192.168.1.25 now",
            HEARTH,
            {"config/hearth.yaml": [("host: 192.168.1.20", "host: 192.168.1.25", 1)]}),
        make_task(
            "instr-yaml-f4", "yaml",
            "thermostat max temp shoudl be 22",
            HEARTH,
            {"config/devices.yaml": [("max_temp: 24", "max_temp: 22", 1)]}),
        # md
        make_task(
            "instr-md-f1", "md",
            "fix the spelling mistakes in docs/moderation.md",
            INKWELL,
            {"docs/moderation.md": [("the occurence of", "the occurrence of", 1),
                                    ("so be carefull.", "so be careful.", 1)]}),
        make_task(
            "instr-md-f2", "md",
            "In PROTOCOL.md the websocket URL should be wss://ws.ravenfall.gg/play",
            RAVENFALL,
            {"docs/PROTOCOL.md": [("`wss://play.ravenfall.gg/ws`",
                                   "`wss://ws.ravenfall.gg/play`", 1)]}),
        make_task(
            "instr-md-f3", "md",
            "Quarry map is gone, take it out of the map list in the README",
            RAVENFALL,
            {"README.md": [("- Quarry - up to 4 players\n", "", 1)]}),
        make_task(
            "instr-md-f4", "md",
            "we call it away mode now, not holiday mode. fix the readme",
            HEARTH,
            {"README.md": [("holiday mode)", "away mode)", 1),
                           ("## Holiday mode", "## Away mode", 1),
                           ("When holiday mode is on", "When away mode is on", 1)]}),
        # js
        make_task(
            "instr-js-f1", "js",
            "rename decodeMessage -> parseMessage",
            RAVENFALL,
            {"server/index.js": [("decodeMessage", "parseMessage", 2)],
             "server/protocol.js": [("decodeMessage", "parseMessage", 2)]}),
        make_task(
            "instr-js-f2", "js",
            "the version error in protocol.js says 'protcol', fix teh typo",
            RAVENFALL,
            {"server/protocol.js": [('"Unsupported protcol version: "',
                                     '"Unsupported protocol version: "', 1)]}),
        make_task(
            "instr-js-f3", "js",
            "startCountdown should default to 5 seconds",
            RAVENFALL,
            {"server/lobby.js": [("startCountdown(seconds = 10)",
                                  "startCountdown(seconds = 5)", 1)]}),
        make_task(
            "instr-js-f4", "js",
            "The hearth API runs on port 8123 now, the dashboard still points at the old one",
            HEARTH,
            {"web/dashboard.js": [('"http://hearth.local:8080/api"',
                                   '"http://hearth.local:8123/api"', 1)]}),
    ]


def _cannot(id: str, text: str, repo: dict[str, str]) -> InstructionTask:
    return InstructionTask(id=id, text=text, files=dict(repo), expected={}, kind=CANNOT)


def fresh_cannot_tasks() -> list[InstructionTask]:
    """The 10 requests no simple edit carries out (features, tests, refactors, explanations)."""
    return [
        _cannot("instr-cannot-f1",
                "add a Tag model with a many-to-many to Post and a page listing posts per tag",
                INKWELL),
        _cannot("instr-cannot-f2",
                "write unit tests for the Matchmaker, especially the window widening",
                RAVENFALL),
        _cannot("instr-cannot-f3",
                "refactor RuleEngine so every rule is its own plugin class "
                "registered via entry points",
                HEARTH),
        _cannot("instr-cannot-f4",
                "explain how the matchmaker decides who gets paired with who",
                RAVENFALL),
        _cannot("instr-cannot-f5",
                "rate-limit comment submission: at most 3 comments per IP per minute",
                INKWELL),
        _cannot("instr-cannot-f6",
                "Support Zigbee devices directly, without going through MQTT",
                HEARTH),
        _cannot("instr-cannot-f7",
                "convert the server to TypeScript",
                RAVENFALL),
        _cannot("instr-cannot-f8",
                "the dashboard should retry with exponential backoff when the API is down",
                HEARTH),
        _cannot("instr-cannot-f9",
                "the Atom feed is slow, profile it and make it faster",
                INKWELL),
        _cannot("instr-cannot-f10",
                "add a ranked ladder with Elo ratings persisted in Redis",
                RAVENFALL),
    ]


def fresh_tasks() -> list[InstructionTask]:
    """All fresh tasks: the 28 exact-bytes tasks, then the 10 cannot tasks."""
    return fresh_instruction_tasks() + fresh_cannot_tasks()
