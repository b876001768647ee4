"""Running a module's tests in this process, fast enough to vet hundreds of mutants.

The module source is executed as a fresh module object registered in sys.modules under its
own name just long enough for the test file's `from <name> import ...` to bind it; then every
`test_*` function runs in a worker thread with a time limit, so a mutant that loops forever
is rejected rather than hanging the generator.
"""

from __future__ import annotations

import sys
import threading
import types
from dataclasses import dataclass

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Failure:
    test: str        # the test function's name ("<import>" if the files did not even load)
    error: str       # the exception's class name
    message: str


def _describe(exc: BaseException) -> Failure:
    return Failure("", type(exc).__name__, str(exc)[:200])


def run_tests(name: str, source: str, test_source: str, timeout: float = 2.0) -> list[Failure] | None:
    """The failures of test_<name>.py against `source`, or None if the tests ran out of time."""
    test_name = f"test_{name}"
    with _LOCK:
        saved = {n: sys.modules.get(n) for n in (name, test_name)}
        try:
            module = types.ModuleType(name)
            module.__file__ = f"{name}.py"
            sys.modules[name] = module
            exec(compile(source, module.__file__, "exec"), module.__dict__)
            tests = types.ModuleType(test_name)
            tests.__file__ = f"{test_name}.py"
            sys.modules[test_name] = tests
            exec(compile(test_source, tests.__file__, "exec"), tests.__dict__)
        except Exception as exc:  # noqa: BLE001 - any error loading is a failure of the mutant
            f = _describe(exc)
            return [Failure("<import>", f.error, f.message)]
        finally:
            for n, old in saved.items():
                if old is None:
                    sys.modules.pop(n, None)
                else:
                    sys.modules[n] = old

    functions = [(n, f) for n, f in tests.__dict__.items()
                 if n.startswith("test_") and isinstance(f, types.FunctionType)]
    failures: list[Failure] = []

    def body():
        for test, fn in functions:
            try:
                fn()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - pytest's Failed is a BaseException
                f = _describe(exc)
                failures.append(Failure(test, f.error, f.message))

    worker = threading.Thread(target=body, name=f"tasksuite-{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return None
    return failures
