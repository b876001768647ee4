"""The chat screen's slash commands (`/help`, `/model`, `/test`, `/compact`…): `run_command`
finds `command_<name>` for a name `parse_slash` found. A mixin of `ChatScreen`, whose
transcript, agent and jobs they use; `/guard` and `/approve` are the screen's own."""

from __future__ import annotations

from functools import partial

from textual.widgets import Markdown

from ..commands import COMMAND_NAMES, help_markdown


class ChatCommands:
    async def run_command(self, name: str, arg: str) -> None:
        if name not in COMMAND_NAMES:
            custom = self.custom_commands().get(name)  # .mlxagent/commands/NAME.md (core/slash.py)
            if custom is not None:
                await self.send(custom.expand(arg))
                return
            await self.transcript.add_notice(f"Unknown command /{name}; /help lists them.", "error")
            return
        await getattr(self, f"command_{name}")(arg)

    def custom_commands(self):
        """The custom slash commands, read afresh (a new or changed file counts at once)."""
        from ...core.slash import load_commands

        return load_commands(self.agent.toolbox.workspace.root, reserved=COMMAND_NAMES)

    def _refuse_while_busy(self, what: str) -> bool:
        if self.busy:
            self.notify(f"Wait for the turn to finish (or press Esc) before {what}.", severity="warning")
        return self.busy

    async def command_help(self, arg: str) -> None:
        await self.transcript.add(Markdown(help_markdown(self.custom_commands()), classes="help"))

    async def command_model(self, arg: str) -> None:
        if arg:
            self.app.switch_model(arg)
        else:
            self.app.action_models()

    async def command_diff(self, arg: str) -> None:
        self.show_diff()

    async def command_undo(self, arg: str) -> None:
        self.action_undo()

    async def command_test(self, arg: str) -> None:
        if self._refuse_while_busy("running the tests"):
            return
        if not callable(getattr(self.agent, "run_tests_now", None)):
            await self.transcript.add_notice("This build of the agent cannot run tests yet.", "error")
            return
        self._start_job(partial(self.agent.run_tests_now, arg))

    async def command_review(self, arg: str) -> None:
        self.action_review()

    async def command_clear(self, arg: str) -> None:
        if self._refuse_while_busy("clearing the conversation"):
            return
        await self._start_over("New conversation. (Files are unchanged; /undo still works.)")

    async def command_new(self, arg: str) -> None:
        if self._refuse_while_busy("starting a new session"):
            return
        await self._start_over("New session. (Files are unchanged; /sessions reopens earlier ones.)")

    async def _start_over(self, notice: str) -> None:
        """An empty conversation, saved as a new session."""
        await self._fresh_conversation()
        self.app.new_session()
        await self.transcript.add_notice(notice)

    async def command_sessions(self, arg: str) -> None:
        if arg:
            self.app.resume_session(arg)
        else:
            self.app.open_sessions()

    async def command_compact(self, arg: str) -> None:
        if self._refuse_while_busy("compacting"):
            return
        if not self.app.model_state.ready:
            await self.transcript.add_notice("No model is loaded to write the summary: ctrl+o picks one.", "error")
            return
        if len(self.agent.messages) <= 1:
            await self.transcript.add_notice("Nothing to compact yet.")
            return
        await self.transcript.add_notice("Summarising the conversation… (esc stops)")
        self._start_job(self.agent.compact)

    async def command_init(self, arg: str) -> None:
        from ...core.instructions import init_instructions

        if self._refuse_while_busy("drafting AGENTS.md"):
            return
        await self.transcript.add_notice("Drafting AGENTS.md from the repository… (esc stops)")
        self._start_job(partial(init_instructions, self.agent))

    async def command_mcp(self, arg: str) -> None:
        from ...mcp_client import listing_lines

        await self.transcript.add_notice("\n".join(listing_lines(getattr(self.agent, "mcp", None))))

    async def command_theme(self, arg: str) -> None:
        if not arg:
            self.app.action_change_theme()
        elif arg in self.app.available_themes:
            self.app.theme = arg
        else:
            await self.transcript.add_notice(
                f"No theme {arg!r}; there are {', '.join(sorted(self.app.available_themes))}.", "error")

    async def command_quit(self, arg: str) -> None:
        self.app.exit()
