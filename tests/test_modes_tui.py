"""Permission modes in the TUI: shift+tab cycles them between turns (not during one), the status bar
shows the mode, `/mode`, `--mode` at start, and ctrl+g carries a plan out in the last editing mode."""

from __future__ import annotations

import threading

from fixture_repos import fixture_repo
from scripted_model import ScriptedModel, hermes_call
from ui_support import ScriptedFactory, factory_for, make_app, notices, send, wait_for, wait_idle, wait_model

from mlxagent.core.modes import CARRY_OUT
from mlxagent.ui.commands import help_markdown
from mlxagent.ui.screens.review import ReviewScreen
from mlxagent.ui.widgets.guard_meter import GuardMeter

PLAN = "Plan:\n1. windows.py: use range(len(values) - size + 1) in window_sums.\n2. Run the tests."


async def test_shift_tab_cycles_the_modes_and_the_status_bar_shows_them(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    app = make_app(repo, factory_for([]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        chat = app.chat
        assert chat.status.mode_text == "⇆ ask" and app.agent.mode.name == "ask"
        seen = []
        for _ in range(4):
            await pilot.press("shift+tab")
            await pilot.pause()
            seen.append((app.agent.mode.name, chat.status.mode_text, app.agent.config.review, app.agent.gate.allow))
        assert seen == [("accept-edits", "⇆ accept-edits", "apply", None), ("auto", "⇆ auto", "apply", True),
                        ("plan", "⇆ plan", "ask", None), ("ask", "⇆ ask", "ask", None)]
        assert chat.prompt.has_focus  # shift+tab is the mode key here, not "focus the previous widget"
        assert "shift+tab" in help_markdown() and "/mode" in help_markdown()


async def test_the_mode_stays_while_a_turn_runs(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    gate = threading.Event()

    def slow(messages, constraint):
        gate.wait(10)
        return "Done."

    app = make_app(repo, factory_for([slow]), auto_test=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        await send(pilot, "what does windows.py do?")
        await wait_for(pilot, lambda: app.chat.busy, what="the turn to start")
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.agent.mode.name == "ask" and app.chat.status.mode_text == "⇆ ask"
        assert any("changes between turns" in str(n.message) for n in app._notifications)
        gate.set()
        await wait_idle(pilot)
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.agent.mode.name == "accept-edits"


async def test_slash_mode_and_the_mode_given_at_start(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    factory = ScriptedFactory({"scripted-a": lambda: ScriptedModel([])})
    app = make_app(repo, factory)
    app.start_mode = "auto"  # `mlxagent --mode auto`
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        assert app.agent.mode.name == "auto" and app.chat.status.mode_text == "⇆ auto" and app.agent.gate.allow
        await send(pilot, "/mode plan")
        await pilot.pause()
        assert app.agent.mode.name == "plan" and app.chat.status.mode_text == "⇆ plan"
        await send(pilot, "/mode yolo")
        await send(pilot, "/mode")
        await pilot.pause()
        shown = notices(app)
        assert any(n.startswith("Mode: plan: read-only") for n in shown)
        assert any(n.startswith("Unknown mode 'yolo': use one of plan, ask, accept-edits, auto") for n in shown)
        assert any(n.startswith("Mode: plan (read-only") and "/mode accept-edits" in n for n in shown)
        assert app.agent.mode.name == "plan"


async def test_a_plan_turn_then_ctrl_g_carries_the_plan_out(tmp_path):
    repo = fixture_repo("off_by_one", tmp_path)
    before = (repo / "windows.py").read_bytes()
    edit = hermes_call("edit_file", path="windows.py", search="range(len(values) - size)",
                       replace="range(len(values) - size + 1)")
    model = ScriptedModel([hermes_call("read_file", path="windows.py"), edit, PLAN, edit, "Done."])
    app = make_app(repo, ScriptedFactory({"scripted-a": lambda: model}), auto_test=False, default_mode="accept-edits")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_model(pilot)
        chat = app.chat
        await send(pilot, "/mode plan")  # from accept-edits, the mode ctrl+g goes back to
        await pilot.pause()
        assert app.agent.mode.name == "plan"
        assert not chat.check_action("carry_out_plan", ())  # no plan yet: ctrl+g is not offered
        await send(pilot, "plan the fix of window_sums")
        await wait_idle(pilot)
        # the edit the model asked for in plan mode was refused: no review, no change
        assert not isinstance(app.screen, ReviewScreen) and (repo / "windows.py").read_bytes() == before
        refused = [m for m in app.agent.messages if m["role"] == "tool" and m["name"] == "edit_file"]
        assert refused and "plan mode is read-only" in refused[0]["content"]
        assert chat.plan_offer == PLAN and chat.check_action("carry_out_plan", ())
        assert "reads (plan)" in str(chat.query_one(GuardMeter).render())  # a plan-mode guard never forces
        assert any("Plan ready: ctrl+g switches to accept-edits mode" in n for n in notices(app))
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: len(model.calls) >= 4, what="the next request")
        await wait_idle(pilot)
        assert app.agent.mode.name == "accept-edits" and chat.status.mode_text == "⇆ accept-edits"
        request = model.calls[3]["messages"]
        user = [m["content"] for m in request if m["role"] == "user"][-1]
        assert user == f"{CARRY_OUT}\n\n{PLAN}"
        assert "range(len(values) - size + 1)" in (repo / "windows.py").read_text()  # accept-edits applied it
        assert chat.plan_offer is None and not chat.check_action("carry_out_plan", ())
