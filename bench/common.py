"""What every benchmark script shares: imports from the checkout, and writing its results."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def write_results(results: dict, path: str) -> Path:
    """The JSON beside the printed table, so BENCHMARKS.md can quote exact figures."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")
    return out
