"""Server parts on their own: request checks, install ids, the prompt-cache pool (tiny model),
tool-text splitting, guard replay, and the worker's queue."""

from __future__ import annotations

import json
import threading

import pytest

from mlxagent.core.events import GenerationStats
from mlxagent.core.formats import format_for
from mlxagent.core.guard import GuardConfig
from mlxagent.core.llm import Chunk
from mlxagent.model.runtime import load_model_dir
from mlxagent.server import guard_steer
from mlxagent.server.cache import PromptCachePool
from mlxagent.server.schemas import ApiError, parse_chat_request, parse_install_request, parse_json_object
from mlxagent.server.store import ModelStore, ModelTarget
from mlxagent.server.worker import Failed, Finished, GenerationJob, ModelWorker, Started, ToolTextSplitter

USER = [{"role": "user", "content": "hi"}]


# ---------------------------------------------------------------- request checks
def test_messages_are_normalised():
    chat = parse_chat_request({"model": "m", "messages": [
        {"role": "developer", "content": [{"type": "text", "text": "Be "}, {"type": "text", "text": "brief."}]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "done"},
    ]})
    system, _, assistant, result = chat.messages
    assert system == {"role": "system", "content": "Be brief."}
    assert assistant["content"] == "" and json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"a": 1}
    assert result["tool_call_id"] == "c1"
    assert chat.tool_choice == "none" and chat.stream is False


def test_tool_choice_defaults_and_forms():
    tools = [{"type": "function", "function": {"name": "f"}}]
    assert parse_chat_request({"model": "m", "messages": USER, "tools": tools}).tool_choice == "auto"
    named = parse_chat_request({"model": "m", "messages": USER, "tools": tools,
                                "tool_choice": {"type": "function", "function": {"name": "f"}}})
    assert (named.tool_choice, named.forced_function) == ("function", "f")
    assert named.tools[0]["function"]["parameters"] == {"type": "object", "properties": {}}


@pytest.mark.parametrize("body, param", [
    ({"messages": USER}, "model"),
    ({"model": "m"}, "messages"),
    ({"model": "m", "messages": []}, "messages"),
    ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages[0].content[0].type"),
    ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content"),
    ({"model": "m", "messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": {}}]}]},
     "messages[0].tool_calls[0].function.name"),
    ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"name": "bad name"}}]},
     "tools[0].function.name"),
    ({"model": "m", "messages": USER, "tools": [{"function": {"name": "f"}}, {"function": {"name": "f"}}]},
     "tools[1].function.name"),
    ({"model": "m", "messages": USER, "tools": [{"function": {"name": "f", "parameters": "x"}}]},
     "tools[0].function.parameters"),
    ({"model": "m", "messages": USER, "tool_choice": "sometimes"}, "tool_choice"),
    ({"model": "m", "messages": USER, "top_p": 0}, "top_p"),
    ({"model": "m", "messages": USER, "max_tokens": 0}, "max_tokens"),
    ({"model": "m", "messages": USER, "max_completion_tokens": 2.5}, "max_completion_tokens"),
    ({"model": "m", "messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ({"model": "m", "messages": USER, "stop": 3}, "stop"),
    ({"model": "m", "messages": USER, "seed": "7"}, "seed"),
    ({"model": "m", "messages": USER, "stream_options": []}, "stream_options"),
    ({"model": "m", "messages": USER, "response_format": {"type": "xml"}}, "response_format"),
    ({"model": "m", "messages": USER, "response_format": {"type": "json_object"},
      "tools": [{"function": {"name": "f"}}]}, "response_format"),
    ({"model": "m", "messages": USER, "response_format": {"type": "json_schema", "json_schema": {"schema": 3}}},
     "response_format.json_schema"),
    ({"model": "m", "messages": USER, "functions": []}, "functions"),
    ({"model": "m", "messages": USER, "mlxagent": {"guard": "no"}}, "mlxagent.guard"),
    ({"model": "m", "messages": USER, "mlxagent": {"edit_tools": "edit"}}, "mlxagent.edit_tools"),
])
def test_bad_fields_name_themselves(body, param):
    with pytest.raises(ApiError) as err:
        parse_chat_request(body)
    assert err.value.status == 400 and err.value.param == param and param.split("[")[0] in err.value.message


@pytest.mark.parametrize("raw, fragment", [
    (b"{", "not valid JSON"), (b"  ", "empty"), (b'"text"', "not a string"), (b'{"a": NaN}', "NaN"),
    (b"[" * 100_000, "not valid JSON"), (b"\xff\xfe{", "not valid JSON"),
])
def test_json_bodies(raw, fragment):
    with pytest.raises(ApiError) as err:
        parse_json_object(raw)
    assert err.value.status == 400 and err.value.code == "invalid_json"
    assert fragment.replace("not a string", "must be a JSON object") in err.value.message


def test_install_request_checks():
    assert parse_install_request({"model_id": " owner/name ", "name": "Hermes-3-8B"}).model_id == "owner/name"
    for body in ({"model_id": "a\nb"}, {"model_id": "x" * 2000}, {"model_id": "a", "name": ""},
                 {"model_id": "a", "name": 3}):
        with pytest.raises(ApiError):
            parse_install_request(body)


# ---------------------------------------------------------------- install ids
def test_install_ids_are_classified(tmp_path):
    store = ModelStore(persist=False)
    assert store.classify("smollm2-135m", None).kind == "default"
    assert store.classify("default", "my-default").kind == "default"
    hermes = store.classify("mlx-community/Hermes-3-Llama-3.1-8B-4bit", "Hermes-3-8B")  # the issue's example
    assert (hermes.kind, hermes.source) == ("hub", "mlx-community/Hermes-3-Llama-3.1-8B-4bit")
    assert store.classify("hermes-3-8b", None).source == "mlx-community/Hermes-3-Llama-3.1-8B-4bit"
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    with pytest.raises(ApiError, match="no config.json"):
        store.classify(str(model_dir), None)
    (model_dir / "config.json").write_text("{}")
    assert store.classify(str(model_dir), "mine").kind == "dir"
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 20)
    assert store.classify(str(gguf), None).kind == "gguf"


@pytest.mark.parametrize("model_id, name, fragment", [
    ("../../etc/passwd", None, "path tricks"),
    ("/tmp/../etc/passwd", None, "path tricks"),
    ("..\\..\\windows", None, "path tricks"),
    ("./model.gguf", None, "relative path"),
    ("/etc/hostname", None, "unknown format"),
    ("/nonexistent/m.gguf", None, "no such file"),
    ("not-a-model", None, "not a model id"),
    ("owner/name", "smollm2-135m", "catalogue model"),
    ("owner/name", "default", "catalogue model"),
])
def test_bad_install_ids(model_id, name, fragment):
    with pytest.raises(ApiError) as err:
        ModelStore(persist=False).classify(model_id, name)
    assert err.value.status == 400 and fragment in err.value.message


def test_unknown_and_uninstalled_names_are_404():
    store = ModelStore({"coder": "owner/never-downloaded"}, persist=False)
    for name, fragment in (("coder", "alias of 'owner/never-downloaded'"), ("nothing-here", "not installed"),
                           ("smollm2-135m", "not installed"), ("../etc", "not installed")):
        with pytest.raises(ApiError) as err:
            store.lookup(name)
        assert err.value.status == 404 and fragment in err.value.message


def test_model_list_shows_no_local_paths(tmp_path):
    gguf = tmp_path / "secret-folder" / "mine.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + bytes(60))
    rows = {r["id"]: r for r in ModelStore({"mine": str(gguf), "hub": "owner/name"}, persist=False).list_models()}
    assert rows["mine"]["alias_of"] == "mine.gguf" and rows["hub"]["alias_of"] == "owner/name"
    assert "secret-folder" not in json.dumps(rows) and all("path" not in r for r in rows.values())


def test_alias_is_saved_in_the_settings(isolated_home):
    from mlxagent.config import load_settings

    store = ModelStore()
    assert store.set_alias("my-coder", "owner/name") is None
    assert load_settings()[0].aliases == {"my-coder": "owner/name"}


# ---------------------------------------------------------------- prompt-cache pool
@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model_dir(tiny_model_dir)


def _run(session, tokens, n=4):
    out = [c for c in session.generate(tokens, max_tokens=n)]
    return "".join(c.text for c in out), out[-1].stats


def test_pool_reuses_extends_forks_and_starts_fresh(tiny):
    pool = PromptCachePool(tiny, max_sessions=4)
    base = list(range(100, 300))
    a = pool.checkout(base)
    _run(a, base)
    pool.checkin(a)
    assert pool.checkout(base + [7, 8, 9]) is a  # extends conversation a: reused in place
    _, stats = _run(a, base + [7, 8, 9])
    pool.checkin(a)
    assert stats.reused_tokens == 200 and stats.prefilled_tokens == 3

    long_a = list(a.cached_tokens)
    diverging = base[:100] + [5, 6, 7]  # shares 100 tokens, then differs from a long cached tail
    b = pool.checkout(diverging)
    assert b is not a and pool.counts["forked"] == 1
    text_b, stats = _run(b, diverging)
    pool.checkin(b)
    assert stats.reused_tokens == 100 and a.cached_tokens == long_a  # a keeps its whole cache
    from mlxagent.model.kv_cache import ChatSession

    fresh_text, _ = _run(ChatSession(tiny, reuse=False), diverging)
    assert text_b == fresh_text  # a copied cache gives the same greedy output as none
    assert pool.checkout(long_a + [9]) is a  # a goes on where it was, its cache untouched by b
    text_a, stats = _run(a, long_a + [9])
    pool.checkin(a)
    assert stats.reused_tokens == len(long_a) and text_a == _run(ChatSession(tiny, reuse=False), long_a + [9])[0]

    c = pool.checkout([1, 2, 3] + base)  # nothing shared: a fresh session
    assert c not in (a, b) and pool.counts["new"] == 2
    _run(c, [1, 2, 3] + base)
    pool.checkin(c)
    assert pool.stats()["sessions"] == 3


def test_pool_drops_least_recently_used_sessions(tiny):
    pool = PromptCachePool(tiny, max_sessions=2)
    prompts = [[i] * 40 for i in (11, 12, 13)]
    sessions = []
    for p in prompts:
        s = pool.checkout(p)
        _run(s, p)
        pool.checkin(s)
        sessions.append(s)
    stats = pool.stats()
    assert stats["sessions"] == 2 and stats["evicted"] == 1
    assert pool.checkout(prompts[0]) not in sessions  # the oldest went
    assert pool.checkout(prompts[2]) is sessions[2]


def test_pool_bounds_memory(tiny):
    one = PromptCachePool(tiny, max_sessions=8)
    s = one.checkout(list(range(50)))
    _run(s, list(range(50)))
    one.checkin(s)
    size = s.cache_nbytes
    assert size > 0
    pool = PromptCachePool(tiny, max_sessions=8, max_bytes=size + size // 2)  # room for one session
    for start in (300, 600):
        p = list(range(start, start + 50))
        s = pool.checkout(p)
        _run(s, p)
        pool.checkin(s)
    assert pool.stats()["sessions"] == 1 and pool.stats()["bytes"] <= pool.max_bytes
    tight = PromptCachePool(tiny, max_bytes=1)
    s = tight.checkout(list(range(50)))
    _run(s, list(range(50)))
    tight.checkin(s)
    assert tight.stats()["bytes"] == 0 and tight.counts["dropped_oversized"] == 1


# ---------------------------------------------------------------- tool text
def _split(fmt: str, pieces: list[str]) -> tuple[str, str]:
    splitter = ToolTextSplitter(format_for(fmt))
    shown = "".join(splitter.feed(p) for p in pieces)
    rest, hidden = splitter.finish()
    return shown + rest, hidden


def test_splitter_holds_back_tagged_calls_even_when_the_tag_is_split():
    shown, hidden = _split("hermes", ["Sure. <to", "ol_", "call>\n{\"name\": ", "\"f\"}\n</tool_call>"])
    assert shown == "Sure. " and hidden == "<tool_call>\n{\"name\": \"f\"}\n</tool_call>"
    assert _split("hermes", ["a <", "b"]) == ("a <b", "")


def test_splitter_for_bare_json_calls():
    assert _split("llama3_json", ["  ", '{"name": "f", ', '"parameters": {}}']) == ("", '  {"name": "f", "parameters": {}}')
    assert _split("llama3_json", ["<|python", "_tag|>{}"])[0] == ""
    assert _split("llama3_json", ["Hello ", "world"]) == ("Hello world", "")


# ---------------------------------------------------------------- guard replay
def _call(i: int, name: str, **args) -> list[dict]:
    return [{"role": "assistant", "content": "", "tool_calls": [
        {"id": f"c{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}]


def _result(i: int, text: str) -> list[dict]:
    return [{"role": "tool", "tool_call_id": f"c{i}", "content": text}]


def test_replay_counts_reads_and_resets_on_edits_and_user_turns():
    config = GuardConfig(allowance=1, nudge_at=2, force_at=3)
    edits = {"edit_file"}
    conversation = [{"role": "user", "content": "go"}]
    for i in range(3):
        conversation += _call(i, "grep", pattern=f"p{i}") + _result(i, "hits")
    assert guard_steer.replay(conversation, config, edits).level == "force"  # any non-edit tool is a read
    edited = conversation + _call(9, "edit_file", path="a") + _result(9, "applied")
    assert guard_steer.replay(edited, config, edits).level == "ok"
    failed = conversation + _call(9, "edit_file", path="a") + _result(9, "Error: no match")
    failed += _call(10, "edit_file", path="a") + _result(10, "error: still no match")
    assert guard_steer.replay(failed, GuardConfig(allowance=1, nudge_at=2, force_at=3, max_forced_failures=2),
                              edits).level == "stopped"
    assert guard_steer.replay(conversation + [{"role": "user", "content": "new"}], config, edits).level == "ok"


def test_plan_with_broken_arguments_still_counts():
    config = GuardConfig(allowance=1, nudge_at=2, force_at=3)
    conversation = [{"role": "user", "content": "go"}]
    for i in range(3):
        conversation += [{"role": "assistant", "content": "", "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "read_file", "arguments": "{oops"}}]}]
        conversation += _result(i, "text")
    tools = [{"type": "function", "function": {"name": n, "parameters": {}}} for n in ("read_file", "edit_file")]
    plan = guard_steer.plan(conversation, tools, "auto", config, {"edit_file"})
    assert plan.action == "force" and [t["function"]["name"] for t in plan.tools] == ["edit_file"]


# ---------------------------------------------------------------- the worker's queue
class GatedModel:
    name, context_length, tool_format = "gated", 4096, "hermes"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.generating = threading.Event()

    def stream(self, messages, tools, **kw):
        self.generating.set()
        self.gate.wait(30)
        yield Chunk("ok")
        yield Chunk("", "stop", GenerationStats(prompt_tokens=3, generated_tokens=1))


class OneModel:
    def __init__(self, model) -> None:
        self.model = model

    def load(self, target):
        return self.model

    def release(self) -> None:
        pass


def test_worker_queue_limit_and_cancel_while_waiting():
    model = GatedModel()
    worker = ModelWorker(OneModel(model), lambda name: GuardConfig(), max_queue=1)
    worker.start()
    try:
        target = ModelTarget("gated", "gated", "gated")
        chat = parse_chat_request({"model": "gated", "messages": USER})
        events: dict[int, list] = {0: [], 1: [], 2: []}
        done = {i: threading.Event() for i in events}

        def emitter(i):
            def emit(event):
                events[i].append(event)
                if isinstance(event, (Finished, Failed)):
                    done[i].set()
            return emit

        jobs = [GenerationJob(target, chat, emit=emitter(i)) for i in range(3)]
        assert worker.submit(jobs[0]) == 0
        assert model.generating.wait(10)
        assert worker.submit(jobs[1]) == 1
        with pytest.raises(ApiError) as err:
            worker.submit(jobs[2])
        assert err.value.status == 503 and err.value.code == "server_busy"
        jobs[1].cancel.set()  # its client went away while it waited
        model.gate.set()
        assert done[0].wait(10) and done[1].wait(10)
        assert isinstance(events[0][0], Started) and events[0][-1].finish_reason == "stop"
        assert [type(e) for e in events[1]] == [Finished] and events[1][0].finish_reason == "cancelled"
        assert worker.stats()["totals"]["cancelled"] == 1
    finally:
        worker.stop()


# ---------------------------------------------------------------- the command
def _serve(*args: str, home) -> "subprocess.CompletedProcess[str]":
    import os
    import subprocess
    import sys

    env = {**os.environ, "MLXAGENT_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "mlxagent", "serve", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_serve_refuses_a_model_that_is_not_installed(isolated_home):
    done = _serve("--port", "0", "--model", "no-such-model", home=isolated_home)
    assert done.returncode == 1
    assert "'no-such-model' does not exist or is not installed" in done.stderr and "Traceback" not in done.stderr


def test_serve_says_when_the_port_is_taken(isolated_home):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = _serve("--port", str(taken.getsockname()[1]), home=isolated_home)
    assert done.returncode == 1 and "could not serve on 127.0.0.1" in done.stderr
