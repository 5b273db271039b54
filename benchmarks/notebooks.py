"""How long each session notebook takes to run top to bottom, and where the time goes.

    python benchmarks/notebooks.py [--repeat 3]

Executes every source notebook (reference solutions, hidden tests included) in a fresh kernel, as
nbgrader's validator does, and prints per notebook: kernel start, summed cell time, the slowest cells,
and the ratio of cell time to kernel start. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
os.environ["NBGRADER_EXECUTION"] = "validate"

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402


def run_once(path: Path) -> tuple[float, list[tuple[float, str]]]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    timings: list[tuple[float, str]] = []
    start = time.perf_counter()
    with client.setup_kernel():
        kernel_start = time.perf_counter() - start
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.perf_counter()
            client.execute_cell(cell, index)
            timings.append((time.perf_counter() - t0, cell.get("id", str(index))))
    return kernel_start, timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'notebook':28} {'kernel start':>12} {'cells (sum)':>12} {'cells/kernel':>13}  slowest cells")
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        starts, totals, slow = [], [], {}
        for _ in range(args.repeat):
            kernel, cells = run_once(path)
            starts.append(kernel)
            totals.append(sum(t for t, _ in cells))
            for t, cid in cells:
                slow.setdefault(cid, []).append(t)
        worst = sorted(((statistics.median(v), k) for k, v in slow.items()), reverse=True)[:3]
        k, c = statistics.median(starts), statistics.median(totals)
        print(f"{path.stem:28} {k:11.2f}s {c:11.2f}s {c / k:12.1f}×  "
              + ", ".join(f"{cid} {t:.2f}s" for t, cid in worst))
    print(f"(median of {args.repeat} runs each; cells include the hidden tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
