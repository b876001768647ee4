"""The model's own sampled rewrites when the rules run out: the batched sampler (real model),
sampled.py's filters (a fake sampler), and the search using them only after the rules found nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlxagent.core.repair import Sources, search, suspects
from mlxagent.core.repair.sampled import sampled, sampler_of

from test_repair import make_repo, run_search as run

REQUEST = "fix m.py so the tests pass"


class FakeSampler:
    """A model's `sample_batch` that returns fixed rewrites (the text after the prefix)."""

    def __init__(self, outputs: list[str]):
        self.outputs = outputs
        self.calls: list[tuple[list[dict], int, str]] = []

    def __call__(self, messages, n, *, temperature, top_p, max_tokens, stop, prefix, cancel):
        self.calls.append((messages, n, prefix))
        return list(self.outputs)


REVERSE = 'def reverse(text):\n    """text backwards"""\n    return text.replace(" ", "")\n'
SPECTRUM = {("m.py", 3): 1.0}  # the line the failing test runs


def check_reverse(root: Path) -> bool:
    namespace: dict = {}
    try:
        exec(compile((root / "m.py").read_text(), "m.py", "exec"), namespace)
        return namespace["reverse"]("abc") == "cba" and namespace["reverse"]("a b") == "b a"
    except Exception:  # noqa: BLE001 - a broken candidate fails its check
        return False


def test_sampled_rewrites_are_one_changed_parsing_line_with_the_indentation_deduplicated(tmp_path):
    root = make_repo(tmp_path, {"m.py": REVERSE})
    sources = Sources(root, ["m.py"])
    # Each sample follows the indentation less one space: " return" is indented like the original.
    fake = FakeSampler([" return text[::-1]", " return text[::-1]", " return text[::-1",  # dup, no parse
                        ' return text.replace(" ", "")',  # the original
                        "  return text[::-1]  ", "return text[::-1]",  # deeper, shallower indentation
                        " return text[::-1]  # <-- this line is wrong",  # the prompt's marker copied back
                        " return ''.join(reversed(text))", "", " x\ny"])
    cands = sampled(sources, REQUEST, None, fake, spectrum=SPECTRUM, top=1)
    news = [dict(c.files)["m.py"].splitlines()[c.line - 1] for c in cands]
    assert news == ["    return text[::-1]", "    return ''.join(reversed(text))"]
    assert all(c.rule == "sampled" and c.line == 3 for c in cands)
    assert len(fake.calls) == 1 and fake.calls[0][2].endswith("\n   ")  # the reply starts indented
    assert "this line is wrong" in fake.calls[0][0][-1]["content"]


def test_sampled_candidates_are_only_for_the_suspect_lines(tmp_path):
    source = ("def helper(x):\n    return x * 2\n\n\ndef total(a, b):\n    c = a - b\n    return c\n")
    root = make_repo(tmp_path, {"m.py": source})
    sources = Sources(root, ["m.py"])
    fake = FakeSampler([" c = a + b", " return c + 0"])
    spectrum = {("m.py", 6): 1.0, ("m.py", 7): 0.8}
    cands = sampled(sources, REQUEST, None, fake, spectrum=spectrum, top=2)
    wanted = {(s.path, s.line) for s in suspects(sources, None, REQUEST, spectrum)[:2]}
    assert cands and {(c.path, c.line) for c in cands} <= wanted
    assert len(fake.calls) == 2


def test_a_model_without_sample_batch_gives_no_sampled_candidates(tmp_path):
    root = make_repo(tmp_path, {"m.py": REVERSE})
    assert sampler_of(object()) is None
    assert sampled(Sources(root, ["m.py"]), REQUEST, None, None) == []


def test_the_search_finds_a_fix_no_rule_makes_from_the_sampled_rewrites_after_the_rules(tmp_path):
    root = make_repo(tmp_path, {"m.py": REVERSE})
    sources = Sources(root, ["m.py"])
    order: list[str] = []
    fake = FakeSampler([" return text", " return text[::-1", " return text.strip()", " return text[::-1]"])

    def sample(*args, **kwargs):
        order.append("sample")
        return fake(*args, **kwargs)

    def checker(scratch: Path) -> bool:
        ok = check_reverse(scratch)
        order.append("check-ok" if ok else "check")
        return ok

    stages, result = run(search(sources, REQUEST, None, None, checker, max_checked=500, fast_checked=500,
                                spectrum=SPECTRUM, sample=sample))
    assert result.found is not None and result.found.rule == "sampled"
    assert "text[::-1]" in dict(result.found.files)["m.py"]
    first = order.index("sample")
    assert first > 0 and all(o == "check" for o in order[:first])  # every rule-made one was checked first
    assert "sampled" in [s[0] for s in stages] and stages[-1][0] == "found"
    # Without the sampler the same search finds nothing: no rule makes this fix.
    _, plain = run(search(sources, REQUEST, None, None, check_reverse, max_checked=500, fast_checked=500,
                          spectrum=SPECTRUM))
    assert plain.found is None


def test_the_search_does_not_sample_when_a_rule_made_candidate_passes(tmp_path):
    root = make_repo(tmp_path, {"m.py": "def total(a, b):\n    return a - b\n"})
    sources = Sources(root, ["m.py"])
    fake = FakeSampler([" return a + b"])

    def checker(scratch: Path) -> bool:
        namespace: dict = {}
        exec((scratch / "m.py").read_text(), namespace)
        return namespace["total"](2, 3) == 5

    stages, result = run(search(sources, REQUEST, None, None, checker, max_checked=500,
                                spectrum={("m.py", 2): 1.0}, sample=fake))
    assert result.found is not None and result.found.rule != "sampled"
    assert fake.calls == [] and "sampled" not in [s[0] for s in stages]


@pytest.mark.real_model
def test_batched_sampling_at_temperature_zero_equals_the_greedy_decode(real_model):
    from mlxagent.model.batch_sample import sample_batch
    from mlxagent.model.kv_cache import ChatSession

    session = ChatSession(real_model, reuse=False)
    prompt = session.encode("def add(a, b):\n    \"\"\"The sum of a and b.\"\"\"\n    return")
    greedy = "".join(c.text for c in session.generate(prompt, max_tokens=12, stop=("\n",)))
    batch = sample_batch(real_model, prompt, 4, temperature=0.0, max_tokens=12, stop=("\n",))
    # The same tokens; the session's streaming detokenizer drops the first token's leading space.
    assert greedy.strip() and [b.lstrip() for b in batch] == [greedy.lstrip()] * 4
    assert batch[0].endswith(greedy)
    sampled_texts = sample_batch(real_model, prompt, 5, temperature=0.9, max_tokens=12, stop=("\n",), seed=1)
    assert len(sampled_texts) == 5 and all("\n" not in t for t in sampled_texts)
    cancelled = sample_batch(real_model, prompt, 3, temperature=0.9, cancel=lambda: True)
    assert cancelled == ["", "", ""]


@pytest.mark.parametrize("on", [True, False])
def test_a_turn_uses_the_models_sampled_rewrites_only_when_configured(tmp_path, on):
    from mlxagent.core import events as ev
    from test_test_loop import make_agent, of

    test = 'from m import reverse\n\n\ndef test_reverse():\n    assert reverse("abc") == "cba"\n'
    root = make_repo(tmp_path, {"m.py": REVERSE, "test_m.py": test})
    agent, model = make_agent(root, ["Done."], repair_first=True, auto_approve=True, sampled=on)
    fake = FakeSampler([" return text[::-1]"])
    model.sample_batch = fake
    events = list(agent.run_turn("reverse in m.py is wrong; fix it so test_m.py passes."))
    stages = [e.stage for e in of(events, ev.RepairProgress)]
    assert ("sampled" in stages) is on, stages
    assert bool(fake.calls) is on
    assert ("text[::-1]" in (root / "m.py").read_text()) is on
