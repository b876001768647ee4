"""The model switcher: installed models and the catalogue, and installing a new one.

Choosing a row asks the app to load that model (`MlxAgentApp.switch_model`); the
loading runs in the app's worker, so it goes on if this screen is closed, and its
progress shows here and in the status bar. The conversation is kept. A failed
download or load leaves the current model in place, with the reason shown here.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, ProgressBar, Static

from ...model.catalog import CATALOG, InstalledModel, catalog_entry
from ..model_factory import fits_in_memory

GB = 1e9


def stars(rating: int) -> str:
    return "●" * rating + "○" * (5 - rating)


class ModelSwitcher(ModalScreen[None]):
    CSS_PATH = "models.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("i", "focus_install", "Install"),
        Binding("x,delete", "remove", "Remove from list"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.installed: list[InstalledModel] = []
        self._awaiting: str = ""  # the spec this screen asked to load; closes when it is in

    def compose(self) -> ComposeResult:
        with Vertical(id="models-box"):
            yield Static(id="models-current")
            yield Label("Installed — enter loads", classes="models-heading")
            yield DataTable(id="models-installed", cursor_type="row", zebra_stripes=True)
            yield Label("Catalogue — calls · loop resistance · speed · memory (more ● is better); "
                        "enter downloads and loads", classes="models-heading")
            yield DataTable(id="models-catalog", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="models-install-row"):
                yield Input(placeholder="install: an MLX model folder, a .gguf file, or owner/name on the Hugging Face hub",
                            id="models-install-input")
                yield Button("Install", id="models-install", variant="primary")
                yield Button("Cancel", id="models-cancel", variant="error")
            with Horizontal(id="models-job-row"):
                yield ProgressBar(total=1.0, show_eta=False, id="models-progress")
                yield Static(id="models-job")
            yield Static("enter load · tab next list · i install · x remove from list (deletes nothing) · esc close",
                         id="models-hint")

    def on_mount(self) -> None:
        installed = self.query_one("#models-installed", DataTable)
        installed.add_columns("name", "size", "quant", "fits", "source", "")
        catalog = self.query_one("#models-catalog", DataTable)
        catalog.add_columns("name", "size", "fits", "calls", "loops", "speed", "memory", "note")
        self._fill_catalog()
        self.watch(self.app, "model_state", self._job_changed)
        self.refresh_installed()
        installed.focus()

    # -- tables --------------------------------------------------------------------------------

    def _fits(self, size_bytes: float) -> str:
        return fits_in_memory(size_bytes, self.app.total_memory)

    def _fill_catalog(self) -> None:
        table = self.query_one("#models-catalog", DataTable)
        table.clear()
        installed_names = {m.name for m in self.installed}
        for e in CATALOG:
            mark = " ✓" if e.name in installed_names or (e.repo_id and e.repo_id in installed_names) else ""
            table.add_row(e.name + mark, f"{e.size_gb:.1f} GB", self._fits(e.size_gb * GB), stars(e.function_calling),
                          stars(e.loop_resistance), stars(e.speed), stars(e.memory), e.note, key=e.name)

    @work(thread=True, exclusive=True, exit_on_error=False, group="installed")
    def refresh_installed(self) -> None:
        try:
            found = self.app.model_factory.installed()
        except Exception as exc:  # noqa: BLE001 - an unreadable cache lists nothing, with a reason
            self.app.call_from_thread(self._show_job, f"Could not list installed models: {exc}", "error")
            found = []
        self.app.call_from_thread(self._fill_installed, found)

    def _fill_installed(self, found: list[InstalledModel]) -> None:
        self.installed = found
        self.app.known_models = [m.name for m in found if not m.missing]
        table = self.query_one("#models-installed", DataTable)
        table.clear()
        current = self.app.model_state.name
        if current and current not in {m.name for m in found}:
            # loaded from somewhere the list does not cover (a hub id, an alias): still marked
            table.add_row(current, "", "", "", "loaded", "◆ current", key=current)
        for m in found:
            state = ("◆ current" if m.name == current else "missing" if m.missing
                     else "import" if m.needs_import else "unreachable" if m.reachable is False else "")
            local = not m.missing and m.reachable is None
            size = f"{m.size_bytes / GB:.2f} GB" if local else "—"
            table.add_row(m.name, size, m.quantisation, self._fits(m.size_bytes) if local else "",
                          m.source, state, key=m.name)
        if not found and not current:
            table.add_row("(none installed: pick one from the catalogue)", "", "", "", "", "", key="")
        self._fill_catalog()
        self._show_current()

    def _show_current(self) -> None:
        state = self.app.model_state
        memory = f"{self.app.total_memory / GB:.1f} GB" if self.app.total_memory else "unknown"
        current = f"◆ {state.name} · {state.backend}" if state.name else "no model loaded"
        self.query_one("#models-current", Static).update(Content(f"Current: {current}     Memory: {memory}"))

    # -- choosing ------------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        spec = event.row_key.value
        if spec:
            self.load(spec)

    def load(self, spec: str) -> None:
        if self.app.switch_model(spec):
            self._awaiting = spec

    @on(Input.Submitted, "#models-install-input")
    @on(Button.Pressed, "#models-install")
    def _install(self) -> None:
        spec = self.query_one("#models-install-input", Input).value.strip()
        if not spec:
            self._show_job("Type a Hugging Face id (owner/name) or the path to a .gguf file.", "error")
            return
        self.app.install_model(spec)

    @on(Button.Pressed, "#models-cancel")
    def _cancel(self) -> None:
        self.app.cancel_model_job()

    def action_remove(self) -> None:
        table = self.query_one("#models-installed", DataTable)
        if not table.has_focus or table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key and key in {m.name for m in self.installed}:
            self._remove_worker(key)

    @work(thread=True, exclusive=True, exit_on_error=False, group="installed")
    def _remove_worker(self, name: str) -> None:
        try:
            text, kind = self.app.model_factory.remove(name), "success"
        except Exception as exc:  # noqa: BLE001 - one line on screen
            text, kind = f"Could not remove {name}: {exc}", "error"
        self.app.call_from_thread(self._show_job, text, kind)
        self.app.call_from_thread(self.refresh_installed)

    def action_focus_install(self) -> None:
        self.query_one("#models-install-input", Input).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    # -- progress --------------------------------------------------------------------------------

    def _show_job(self, text: str, kind: str = "info") -> None:
        label = self.query_one("#models-job", Static)
        label.update(Content(text))
        label.set_classes(f"-{kind}")

    def _job_changed(self, state) -> None:
        bar = self.query_one("#models-progress", ProgressBar)
        running = bool(state.job)
        bar.display = running
        self.query_one("#models-cancel", Button).display = running
        self.query_one("#models-install", Button).disabled = running
        if running:
            verb = "Loading" if state.job == "load" else "Installing"
            bar.update(total=1.0 if state.fraction is not None else None, progress=state.fraction or 0.0)
            self._show_job(f"{verb} {state.target}: {state.stage or 'starting'}…")
            return
        if state.error:
            self._show_job(state.error, "error")
        elif state.message:
            self._show_job(state.message, "success")
        self._show_current()
        if state.job_kind == "install" and not state.error:
            self.refresh_installed()
        if self._awaiting and state.job_kind == "load":
            awaited, self._awaiting = self._awaiting, ""
            if not state.error and state.target == awaited:
                self.dismiss(None)
