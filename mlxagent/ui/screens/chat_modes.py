"""Permission modes on the chat screen (core/modes.py): shift+tab cycles them between turns,
`/mode [NAME]` shows or sets one, the status bar shows the current one, and after a plan-mode
turn ctrl+g turns the plan into work: it switches back to the last mode that may edit and sends
"Carry out this plan:" with the plan as the next request. A mixin of `ChatScreen`."""

from __future__ import annotations

from ...core.modes import MODES, ModeError, carry_out_request, last_plan, mode_named, next_mode

DESCRIPTIONS = {
    "plan": "read-only: the model reads and writes a plan; no edit, no command (ctrl+g carries a plan out)",
    "ask": "each edit waits for your review, each command asks first",
    "accept-edits": "edits are applied without review (u undoes them); commands still ask first",
    "auto": "edits are applied and commands run without asking",
}
PLAN_KEY = "ctrl+g"


class ChatModes:
    plan_offer: str | None = None  # the plan ctrl+g would carry out
    work_mode: str = "ask"  # the last mode that may edit: where ctrl+g goes from plan mode

    def mode_changed(self) -> None:
        """The agent's mode changed (or the screen opened): the status bar and ctrl+g follow."""
        mode = self.agent.mode
        if not mode.read_only:
            self.work_mode = mode.name
        self.status.show_mode(mode.name)

    def _set_mode(self, name: str) -> bool:
        if self.busy:
            self.notify(f"The mode stays {self.agent.mode.name} while the model works: it changes between turns "
                        "(wait for this one, or press Esc).", severity="warning")
            return False
        self.app.set_mode(name)
        return True

    def action_cycle_mode(self) -> None:
        if self._set_mode(next_mode(self.agent.mode)):
            name = self.agent.mode.name
            self.notify(f"Mode: {name}: {DESCRIPTIONS[name]}", title="Permission mode",
                        severity="warning" if name in ("accept-edits", "auto") else "information")

    async def command_mode(self, arg: str) -> None:
        if not arg:
            lines = [f"Mode: {self.agent.mode.name} ({DESCRIPTIONS[self.agent.mode.name]})."]
            lines += [f"/mode {name}: {DESCRIPTIONS[name]}" for name in MODES]
            await self.transcript.add_notice("\n".join(lines + ["shift+tab cycles them between turns."]))
            return
        try:
            name = mode_named(arg).name
        except ModeError as exc:
            await self.transcript.add_notice(f"{str(exc)[0].upper()}{str(exc)[1:]}.", "error")
            return
        if self._set_mode(name):
            await self.transcript.add_notice(f"Mode: {name}: {DESCRIPTIONS[name]}.",
                                             "warning" if name in ("accept-edits", "auto") else "info")

    # -- plan → work ------------------------------------------------------------------------------

    async def plan_finished(self, reason: str) -> None:
        """A turn ended: after a plan-mode turn that wrote a plan, offer ctrl+g to carry it out."""
        plan = ""
        if self.agent.mode.read_only and reason == "done":
            plan = last_plan(self.agent.messages, self.agent.turn_start)
        self.set_plan_offer(plan or None)
        if plan:
            target = self.work_mode
            await self.transcript.add_notice(f"Plan ready: {PLAN_KEY} switches to {target} mode and carries it out.",
                                             "success")

    def set_plan_offer(self, plan: str | None) -> None:
        if plan != self.plan_offer:
            self.plan_offer = plan
            self.refresh_bindings()

    async def action_carry_out_plan(self) -> None:
        plan = self.plan_offer
        if plan is None:
            return
        if self.busy:
            self.notify("Wait for the turn to finish (or press Esc) before carrying out the plan.", severity="warning")
            return
        if self.agent.mode.read_only:
            self.app.set_mode(self.work_mode)
        self.set_plan_offer(None)
        await self.send(carry_out_request(plan))
