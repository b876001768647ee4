"""Crash safety: processes applying proposals, saving settings and installing a model,
killed with SIGKILL at random moments (and at every write of the edit path in turn).

    .venv/bin/python bench/crash_edits.py [--trials 200] [--settings-trials 100] [--model-trials 20]
                                          [--files 4] [--mb 2] [--seed 0]
                                          [--json bench/results/crash_edits.json]

Edits: a child process (a fresh interpreter, the default undo journal under its
MLXAGENT_HOME) applies a large proposal per file (--files files of --mb MB, a changed line
every 40 lines, so hundreds of hunks) plus a new file in a new folder, then undoes them all.
It is killed at a uniformly random moment of that work (and, in the deterministic pass, just
before and just after each of its `os.replace` calls). Afterwards:

- every target file holds exactly its old bytes or exactly its new bytes (the new file is
  absent or complete), and the files holding new bytes are the first ones in apply order;
- the next start (Workspace.open, ProposalManager) leaves no temp file in the repository and
  a journal whose records are all "done", one per file holding new bytes, in order;
- undo of everything then succeeds and returns every file to its old bytes, removes the new
  file and its folder, empties the journal (no blob left), and HEAD and the index are as before.

Settings: a child saves two different settings files in a loop; the file must always parse
and equal one of the two exactly; the next load leaves no temp file.

Model store: a child provisions the default model from a local GGUF (copy into downloads/,
then import into models/); after the kill no model may look installed unless it is complete,
and the next provisioning leaves no temp file or folder behind. Needs the GGUF in the real
cache (`make model`); skipped without it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (str(ROOT), str(ROOT / "tests")):
    if extra not in sys.path:
        sys.path.insert(0, extra)

TEMP_RE = re.compile(r"\.mlxagent-tmp$")
NEW_FILE = "gen/deep/new.txt"


# --- the edit scenario --------------------------------------------------------------------


def old_content(i: int, mb: float) -> bytes:
    """A big file with mixed line endings and no final newline on odd files."""
    rnd = random.Random(i)
    lines, size = [], 0
    n = 0
    while size < mb * 1_000_000:
        line = f"{i}:{n} {'x' * rnd.randint(10, 90)} é{rnd.random():.6f}".encode()
        line += b"\r\n" if n % 7 == 0 else b"\n"
        lines.append(line)
        size += len(line)
        n += 1
    data = b"".join(lines)
    return data.rstrip(b"\r\n") if i % 2 else data


def new_content(old: bytes) -> bytes:
    """A changed line every 40 lines: many hunks, every one kept apart by unchanged context."""
    lines = old.split(b"\n")
    for k in range(0, len(lines), 40):
        lines[k] = lines[k].replace(b" x", b" CHANGED x", 1)
    return b"\n".join(lines)


def created_content(mb: float) -> bytes:
    return b"".join(b"generated line %d\n" % n for n in range(int(mb * 1_000_000 / 20)))


def edit_targets(files: int) -> list[str]:
    return [f"src/f{i}.txt" for i in range(files)]


def make_edit_repo(base: Path, files: int, mb: float) -> Path:
    from fixture_repos import init_repo

    root = base / "repo"
    for i, rel in enumerate(edit_targets(files)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(old_content(i, mb))
    init_repo(root)
    return root


def child_edits(root: str, files: int, mb: float, kill_at: int | None, kill_after: bool) -> None:
    """Apply a proposal per file and create the new file, then undo them all. With `kill_at`,
    SIGKILL itself just before (or just after) that `os.replace` call (0-based)."""
    from mlxagent.core.events import Review
    from mlxagent.core.proposals import Proposal, ProposalManager
    from mlxagent.core.workspace import Workspace

    ws = Workspace.open(root)
    manager = ProposalManager(ws)  # the default journal, under MLXAGENT_HOME
    # Diffing megabytes takes seconds; the parent did it once (see EditCrashes), the child
    # only unpickles, so that all of its time after "ready" is applying and undoing.
    proposals = pickle.loads(Path(root).parent.joinpath("proposals.pickle").read_bytes())
    assert all(isinstance(p, Proposal) for p in proposals)
    if kill_at is not None:
        real_replace, calls = os.replace, [0]

        def replace(src, dst):
            if calls[0] == kill_at and not kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(src, dst)
            if calls[0] == kill_at and kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            calls[0] += 1

        os.replace = replace
    print("ready", flush=True)
    for p in proposals:
        resolved = manager.apply(p, Review.accept_all(len(p.hunks)))
        assert resolved.outcome == "applied", resolved
    for _ in proposals:
        message = manager.undo()
        assert message.startswith("Undid"), message
    print(f"done {calls[0] if kill_at is not None else ''}", flush=True)


def _git_state(root: Path) -> tuple[str, bytes]:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    return head, (root / ".git" / "index").read_bytes()


def _temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if TEMP_RE.search(p.name) and ".git" not in p.parts)


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"child did not start: {line!r} {proc.stderr.read()[-2000:]}")


class EditCrashes:
    """One repository and home for many trials; every trial ends with everything undone."""

    def __init__(self, base: Path, files: int = 4, mb: float = 2.0) -> None:
        self.files, self.mb = files, mb
        self.base = base
        self.home = base / "home"
        self.root = make_edit_repo(base, files, mb)
        self.env = {**os.environ, "MLXAGENT_HOME": str(self.home)}
        self.targets = edit_targets(files) + [NEW_FILE]
        self.old = {rel: (self.root / rel).read_bytes() for rel in edit_targets(files)}
        self.new = {rel: new_content(data) for rel, data in self.old.items()}
        self.new[NEW_FILE] = created_content(mb / 2)
        self.old[NEW_FILE] = None
        self.git_before = _git_state(self.root)
        from mlxagent.core.proposals import Proposal

        proposals = [Proposal(rel, self.old[rel], self.new[rel]) for rel in self.targets]
        (base / "proposals.pickle").write_bytes(pickle.dumps(proposals))
        self.hunks = sum(len(p.hunks) for p in proposals)
        self.stats = {"trials": 0, "finished_before_kill": 0, "stray_temp_files_seen": 0,
                      "unsettled_records_seen": 0, "files_new_at_kill": 0, "bad": 0}
        self.problems: list[str] = []

    def _args(self, kill_at: int | None = None, kill_after: bool = False) -> list[str]:
        args = ["child-edits", str(self.root), str(self.files), str(self.mb)]
        if kill_at is not None:
            args += ["--kill-at", str(kill_at)] + (["--after"] if kill_after else [])
        return args

    def calibrate(self) -> tuple[float, int]:
        """One unkilled run: the seconds from ready to done, and how many os.replace calls it made."""
        proc = _spawn(self._args(kill_at=10**9), self.env)
        _wait_ready(proc)
        start = time.perf_counter()
        out, err = proc.communicate(timeout=600)
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not out.startswith("done"):
            raise RuntimeError(f"calibration run failed: {out!r} {err[-2000:]}")
        self.check(killed=False)
        return seconds, int(out.split()[1])

    def trial(self, delay: float | None = None, kill_at: int | None = None, kill_after: bool = False) -> None:
        proc = _spawn(self._args(kill_at, kill_after), self.env)
        _wait_ready(proc)
        if delay is not None:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=600)
        finished = proc.returncode == 0
        if not finished and proc.returncode != -signal.SIGKILL:
            self.problems.append(f"child failed (rc {proc.returncode}): {err[-1500:]}")
        self.stats["finished_before_kill"] += finished
        self.check(killed=not finished)

    def check(self, killed: bool) -> None:
        """The assertions after a kill; then the next start, and undo of everything."""
        from mlxagent.core.proposals import ProposalManager
        from mlxagent.core.undo_store import default_folder
        from mlxagent.core.workspace import Workspace

        self.stats["trials"] += killed
        problems = []
        state = []
        for rel in self.targets:
            path = self.root / rel
            data = path.read_bytes() if path.exists() else None
            if data == self.new[rel]:
                state.append("new")
            elif data == self.old[rel]:
                state.append("old")
            else:
                state.append("torn")
                problems.append(f"{rel} is neither its old nor its new bytes ({None if data is None else len(data)} bytes)")
        n_new = state.count("new")
        if state != ["new"] * n_new + ["old"] * (len(state) - n_new):
            problems.append(f"files holding new bytes are not a prefix of the apply order: {state}")
        self.stats["files_new_at_kill"] += n_new
        self.stats["stray_temp_files_seen"] += len(_temp_files(self.root))
        os.environ["MLXAGENT_HOME"] = str(self.home)  # the parent's "next start" uses the same home
        folder = default_folder(self.root)
        try:
            raw = json.loads((folder / "journal.json").read_text())
            self.stats["unsettled_records_seen"] += sum(r["state"] != "done" for r in raw["records"])
        except FileNotFoundError:
            pass
        # The next start.
        ws = Workspace.open(self.root)
        if strays := _temp_files(self.root):
            problems.append(f"temp files left after the next start: {strays}")
        manager = ProposalManager(ws)
        with manager.journal.locked():
            records = manager.journal.load()
        if any(r.state != "done" for r in records):
            problems.append(f"unsettled records after the next start: {[r.state for r in records]}")
        if [r.files[0].path for r in records] != self.targets[:n_new]:
            problems.append(f"journal names {[r.files[0].path for r in records]}, files new: {self.targets[:n_new]}")
        for _ in records:
            message = manager.undo()
            if not message.startswith("Undid"):
                problems.append(f"undo after the crash: {message}")
                break
        for rel in self.targets:
            path = self.root / rel
            if (path.read_bytes() if path.exists() else None) != self.old[rel]:
                problems.append(f"{rel} not back to its old bytes after undo")
        if (self.root / "gen").exists():
            problems.append("the new folder is still there after undo")
        if manager.can_undo():
            problems.append("the journal is not empty after undoing everything")
        if blobs := list((folder / "blobs").iterdir()):
            problems.append(f"{len(blobs)} blobs left in the journal after undoing everything")
        if _git_state(self.root) != self.git_before:
            problems.append("HEAD or the index changed")
        ws.repo.close()
        if problems:
            self.stats["bad"] += 1
            self.problems.extend(problems)
            self._reset()

    def _reset(self) -> None:
        """After a failed check, put the old bytes back by hand so later trials start clean."""
        from mlxagent.core.undo_store import default_folder

        for rel in self.targets:
            path = self.root / rel
            if self.old[rel] is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(self.old[rel])
        shutil.rmtree(self.root / "gen", ignore_errors=True)
        shutil.rmtree(default_folder(self.root), ignore_errors=True)
        for rel in _temp_files(self.root):
            (self.root / rel).unlink()


def run_edit_crashes(base: Path, trials: int, files: int, mb: float, seed: int, deterministic: bool = True,
                     log=print) -> dict:
    rng = random.Random(seed)
    crashes = EditCrashes(base, files, mb)
    seconds, replaces = crashes.calibrate()
    log(f"edits: one unkilled run takes {seconds:.2f} s after start-up and makes {replaces} os.replace calls")
    started = time.perf_counter()
    attempts = 0
    while crashes.stats["trials"] < trials and attempts < 3 * trials:  # runs that finished first are not kills
        attempts += 1
        crashes.trial(delay=rng.uniform(0, seconds))
        if attempts % 50 == 0:
            log(f"  {crashes.stats['trials']} random kills, {crashes.stats['bad']} bad")
    random_seconds = time.perf_counter() - started
    random_stats = dict(crashes.stats)
    points = 0
    if deterministic:
        for k in range(replaces):
            for after in (False, True):
                crashes.trial(kill_at=k, kill_after=after)
                points += 1
    return {
        "files": files, "mb_per_file": mb, "hunks": crashes.hunks,
        "unkilled_run_s": round(seconds, 3), "os_replace_calls": replaces,
        "random_kills": random_stats["trials"], "finished_before_kill": random_stats["finished_before_kill"],
        "random_kill_seconds": round(random_seconds, 1),
        "deterministic_kill_points": points, **{k: v for k, v in crashes.stats.items() if k != "trials"},
        "killed_total": crashes.stats["trials"], "problems": crashes.problems[:20],
    }


# --- settings -----------------------------------------------------------------------------


def settings_pair():
    from mlxagent.config import Settings

    a = Settings(aliases={f"alias-{n}": "smollm2-135m" for n in range(3000)})
    b = Settings(aliases={f"other-{n}": "hermes-3-8b" for n in range(3000)}, auto_commit=True)
    return a, b


def child_settings(path: str) -> None:
    from mlxagent.config import save_settings

    a, b = settings_pair()
    save_settings(a, path)
    print("ready", flush=True)
    while True:
        save_settings(b, path)
        save_settings(a, path)


def run_settings_crashes(base: Path, trials: int, seed: int, log=print) -> dict:
    import tomli_w

    from mlxagent.config import load_settings, settings_table

    rng = random.Random(seed)
    file = base / "config" / "config.toml"
    a, b = settings_pair()
    allowed = {tomli_w.dumps(settings_table(s)).encode() for s in (a, b)}
    stats = {"kills": 0, "stray_temp_files_seen": 0, "bad": 0}
    problems = []
    pattern = re.compile(r"^\.config\.toml\..{8}\.tmp$")
    for _ in range(trials):
        proc = _spawn(["child-settings", str(file)], dict(os.environ))
        _wait_ready(proc)
        time.sleep(rng.uniform(0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stats["kills"] += 1
        stats["stray_temp_files_seen"] += sum(bool(pattern.match(n)) for n in os.listdir(file.parent))
        bad = []
        if file.read_bytes() not in allowed:
            bad.append("config.toml is neither of the two versions")
        settings, warnings = load_settings(file)  # the next start
        if warnings or settings not in (a, b):
            bad.append(f"config.toml does not load cleanly: {warnings[:1]}")
        if left := [n for n in os.listdir(file.parent) if n != "config.toml"]:
            bad.append(f"left beside config.toml after the next load: {left}")
        stats["bad"] += bool(bad)
        problems += bad
    log(f"settings: {stats}")
    return {**stats, "problems": problems[:20]}


# --- the model store ----------------------------------------------------------------------


def real_gguf() -> Path | None:
    """The default model's GGUF in the cache (what `make model` provisions), if it is there."""
    from mlxagent.model import default_model

    path = default_model.gguf_path()
    return path if path.is_file() else None


def child_model(gguf: str) -> None:
    from mlxagent.model import default_model
    import mlx.core  # noqa: F401 - imported before "ready", so the kill lands in the work

    print("ready", flush=True)
    default_model.ensure(source=gguf)
    print("done", flush=True)


def check_model_store(home: Path) -> list[str]:
    """What must hold after a kill, before anything cleans up: nothing incomplete looks installed."""
    from mlxagent.model import catalog, default_model
    from mlxagent.model.gguf_import import MANIFEST

    problems = []
    os.environ["MLXAGENT_HOME"] = str(home)
    listed = [m for m in catalog.installed_models() if m.source == "mlxagent"]
    for model in listed:
        missing = [n for n in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MANIFEST)
                   if not (model.path / n).is_file()]
        if missing or model.path.name.startswith("."):
            problems.append(f"{model.path.name} looks installed but lacks {missing}")
        else:
            try:
                json.loads((model.path / "config.json").read_text())
                json.loads((model.path / MANIFEST).read_text())
            except ValueError as e:
                problems.append(f"{model.path.name}: a damaged json ({e})")
    if default_model.is_installed() and not any(m.path == default_model.model_dir() for m in listed):
        problems.append("default_model.is_installed() but the model is not listed complete")
    gguf = default_model.gguf_path()
    if gguf.exists() and not default_model._has_valid_gguf(gguf):
        problems.append("downloads/ holds a GGUF with the wrong bytes")
    return problems


def run_model_crashes(base: Path, trials: int, seed: int, gguf: Path, log=print) -> dict:
    from mlxagent.model import default_model

    rng = random.Random(seed)
    home = base / "model-home"
    env = {**os.environ, "MLXAGENT_HOME": str(home)}
    proc = _spawn(["child-model", str(gguf)], env)
    _wait_ready(proc)
    start = time.perf_counter()
    out, err = proc.communicate(timeout=600)
    seconds = time.perf_counter() - start
    if "done" not in out:
        raise RuntimeError(f"model calibration failed: {err[-2000:]}")
    stats = {"kills": 0, "installed_at_kill": 0, "leftovers_seen": 0, "bad": 0}
    problems = []
    for _ in range(trials):
        shutil.rmtree(home, ignore_errors=True)
        proc = _spawn(["child-model", str(gguf)], env)
        _wait_ready(proc)
        time.sleep(rng.uniform(0, seconds * 1.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stats["kills"] += 1
        bad = check_model_store(home)
        os.environ["MLXAGENT_HOME"] = str(home)
        stats["installed_at_kill"] += default_model.is_installed()
        leftovers = [p.name for d in ("cache/models", "cache/downloads") if (home / d).is_dir()
                     for p in (home / d).iterdir() if p.name.startswith(".") or p.name.endswith(".part")]
        stats["leftovers_seen"] += bool(leftovers)
        # The next start provisions again: it must finish, and clean what the kill left.
        path = default_model.ensure(source=gguf)
        if not default_model.is_installed() or check_model_store(home):
            bad.append("provisioning after the kill did not give a complete model")
        left = [p.name for d in ("cache/models", "cache/downloads") if (home / d).is_dir()
                for p in (home / d).iterdir() if p.name not in (path.name, default_model.gguf_path().name)]
        if left:
            bad.append(f"left after the next provisioning: {left}")
        stats["bad"] += bool(bad)
        problems += bad
    log(f"model store: one unkilled provisioning takes {seconds:.2f} s; {stats}")
    return {"unkilled_run_s": round(seconds, 2), **stats, "problems": problems[:20]}


# --- the command line ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "child-edits":
        kill_at = int(argv[argv.index("--kill-at") + 1]) if "--kill-at" in argv else None
        child_edits(argv[1], int(argv[2]), float(argv[3]), kill_at, "--after" in argv)
        return 0
    if argv and argv[0] == "child-settings":
        child_settings(argv[1])
        return 0
    if argv and argv[0] == "child-model":
        child_model(argv[1])
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200, help="random kills of the edit child")
    parser.add_argument("--settings-trials", type=int, default=100)
    parser.add_argument("--model-trials", type=int, default=20)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-deterministic", action="store_true", help="skip the kill at every os.replace")
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "crash_edits.json"))
    args = parser.parse_args(argv)

    from common import write_results

    started = time.perf_counter()
    results: dict = {}
    gguf = real_gguf()  # before the trials point MLXAGENT_HOME at their own homes
    with tempfile.TemporaryDirectory(prefix="crash-edits-") as tmp:
        base = Path(tmp)
        t = time.perf_counter()
        results["edits"] = run_edit_crashes(base / "edits", args.trials, args.files, args.mb, args.seed,
                                            deterministic=not args.no_deterministic)
        results["edits"]["seconds"] = round(time.perf_counter() - t, 1)
        print(f"edits: {results['edits']}")
        t = time.perf_counter()
        results["settings"] = run_settings_crashes(base / "settings", args.settings_trials, args.seed)
        results["settings"]["seconds"] = round(time.perf_counter() - t, 1)
        if gguf is None or args.model_trials == 0:
            results["model_store"] = {"skipped": "no GGUF in the real cache (make model)" if gguf is None else "--model-trials 0"}
        else:
            t = time.perf_counter()
            results["model_store"] = run_model_crashes(base / "model", args.model_trials, args.seed, gguf)
            results["model_store"]["seconds"] = round(time.perf_counter() - t, 1)
    results["seconds"] = round(time.perf_counter() - started, 1)
    bad = sum(part.get("bad", 0) for part in results.values() if isinstance(part, dict))
    results["bad_trials"] = bad
    print(f"\nbad trials: {bad}   time: {results['seconds']:.0f} s")
    write_results(results, args.json)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
