"""`mlxagent sessions list|show|export`: the saved conversations, for people and scripts."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .errors import MlxAgentError


def repo_root(path: str) -> str:
    """The repository `path` is in (sessions are keyed by its root)."""
    from .core.workspace import NotAGitRepoError, Workspace

    try:
        return str(Workspace.open(path).root)
    except NotAGitRepoError:
        raise MlxAgentError(f"{Path(path).resolve()} is not in a git repository (use --all for every session)") from None


def _store():
    from .core.saved_sessions import SessionError, SessionStore

    try:
        return SessionStore()
    except SessionError as exc:
        raise MlxAgentError(str(exc)) from None


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def session_line(info, with_repo: bool = False) -> str:
    """One row of a session list: id, date, model, edits applied, the first request."""
    edits = f"{info.edits_applied} edit{'s' if info.edits_applied != 1 else ''}"
    repo = f"  {info.repo}" if with_repo else ""
    return f"{info.id}  {when(info.updated)}  {info.model or '?':<20} {edits:<9} {info.title}{repo}"


def _find(store, session_id: str, repo: str | None):
    """`last` (this repository's latest), or an id or its start: in this repository first, then in
    any (an id is unique)."""
    from .core.saved_sessions import SessionError, find_session

    try:
        info = find_session(store, repo, session_id)
    except SessionError:
        if session_id == "last":
            raise
        info = store.find(session_id)
    return store.load(info.id)


def sessions_command(args) -> int:
    from .core.saved_sessions import SessionError, export_markdown

    store = _store()
    try:
        if args.sessions_command == "list":
            repo = None if args.all else repo_root(args.repo)
            infos = store.sessions(repo)
            if args.json:
                print(json.dumps([i.to_dict() for i in infos], indent=1))
            elif not infos:
                print("No saved sessions" + ("" if args.all else " for this repository") + ".")
            else:
                for info in infos:
                    print(session_line(info, with_repo=args.all))
            return 0
        repo = repo_root(args.repo) if Path(args.repo).exists() else None
        record = _find(store, args.id, repo)
        if args.sessions_command == "show":
            if args.json:
                print(json.dumps(record.to_dict(), indent=1))
            else:
                sys.stdout.write(export_markdown(record))
            return 0
        text = json.dumps(record.to_dict(), indent=1) + "\n" if args.format == "json" else export_markdown(record)
        if args.output:
            from .core.workspace import atomic_write

            atomic_write(Path(args.output), text.encode("utf-8"))
            print(f"Session {record.id} written to {args.output}.")
        else:
            sys.stdout.write(text)
        return 0
    except SessionError as exc:
        raise MlxAgentError(str(exc)) from None
    finally:
        store.close()
