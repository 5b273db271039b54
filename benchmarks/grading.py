"""Grading a class: ``python -m course grade`` against serial ``nbgrader autograde``, in one run.

    python benchmarks/grading.py [--students 40] [--session session1_chat] [--jobs N] [--repeat 1] [--chunks 1]

Builds a synthetic class of a real session (every student answers a different, seeded subset of the
questions; a few hand in the release untouched), then grades two identical copies of it:

1. serially, as nbgrader does it: ``nbgrader autograde`` (then ``nbgrader generate_feedback``, timed
   apart, since our command writes feedback too);
2. with ``python -m course grade --jobs N`` (sandboxed, feedback included).

Prints the throughput ratio (ours / serial; the goal is at least 0.9 x the cores), checks that every
student's score is the same both ways, and shows where one submission's time goes (kernel start, cells,
kernel shutdown, nbgrader's own work, database, feedback) next to the bare cost of starting a kernel and
running the same cells with nbclient. A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.pop("COURSE_DB_URL", None)  # each copy of the class uses its own SQLite gradebook


def build_class(target: Path, session: str, students: int, seed: int = 7) -> list[str]:
    """A course folder with the session released and ``students`` submissions in ``submitted/``."""
    from course import submissions
    from course.demo import api_for, make_course

    make_course(target)
    api = api_for(target)
    result = api.generate_assignment(session, force=True)
    if not result.get("success"):
        raise SystemExit(f"generate_assignment failed:\n{result.get('error')}")
    release = submissions.read(target / "release" / session / f"{session}.ipynb")
    source = submissions.read(target / "source" / session / f"{session}.ipynb")
    ids = submissions.answer_ids(release)
    rng = random.Random(seed)
    names = []
    for i in range(students):
        name = f"student{i:03d}"
        answered = [] if i % 10 == 9 else rng.sample(ids, rng.randint(len(ids) // 3, len(ids)))
        submissions.write(submissions.fill(release, source, answered),
                          target / "submitted" / name / session / f"{session}.ipynb")
        names.append(name)
    return names


LOADS: list[str] = []


def timed(cmd: list[str], cwd: Path) -> float:
    before = os.getloadavg()[0]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    LOADS.append(f"{before:.1f}->{os.getloadavg()[0]:.1f}")
    if result.returncode not in (0, 1):  # 1: some student failed, reported below through the scores
        raise SystemExit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return elapsed


def scores_of(course: Path, session: str) -> dict[str, float | None]:
    from course.scores import assignment_scores

    url = f"sqlite:///{course / 'gradebook.db'}"
    return {s: (None if v.crashed_cells else v.autograded)
            for s, v in assignment_scores(url, "sysdesign-lab", session).items()}


def bare_cost(course: Path, session: str, students: list[str], sandboxed: bool, samples: int) -> tuple[float, float]:
    """Median (kernel start, cells) of running submissions' autograded notebooks with plain nbclient.

    Every code cell is run as written (test cells' visible checks included), with nothing of nbgrader
    or of the grader's verification around them: the cost of just running the notebook.
    """
    import nbformat
    from nbclient import NotebookClient

    from course.grading.sandbox import SandboxedKernelManager

    os.environ["NBGRADER_EXECUTION"] = "autograde"
    starts, cells = [], []
    for student in students[:samples]:
        folder = course / "autograded" / student / session
        nb = nbformat.read(folder / f"{session}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
        kwargs = {"kernel_manager_class": SandboxedKernelManager} if sandboxed else {}
        client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(folder)}},
                                **kwargs)
        t0 = time.perf_counter()
        with client.setup_kernel():
            t1 = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
            t2 = time.perf_counter()
        starts.append(t1 - t0)
        cells.append(t2 - t1)
    os.environ.pop("NBGRADER_EXECUTION", None)
    return statistics.median(starts), statistics.median(cells)


def breakdown(course: Path, session: str) -> dict[str, float]:
    """Median seconds per submission from the grading journal."""
    lines = (course / "autograded" / ".grading" / f"{session}.jsonl").read_text().splitlines()
    timings = [json.loads(line)["timings"] for line in lines if line.strip()]
    keys = ("kernel_start", "cells", "kernel_stop", "autograde", "db", "feedback", "total")
    med = {k: statistics.median(t.get(k, 0.0) for t in timings) for k in keys}
    med["mean_total"] = statistics.mean(t.get("total", 0.0) for t in timings)
    med["nbgrader"] = max(0.0, med["autograde"] - med["kernel_start"] - med["cells"] - med["kernel_stop"] - med["db"])
    return med


def main() -> int:
    from course.grading.runner import default_jobs

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--session", default="session1_chat")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--repeat", type=int, default=1, help="alternate serial and parallel runs this many times")
    parser.add_argument("--chunks", type=int, default=1,
                        help="hand the class in N slices, grading each slice both ways in turn (evens out the "
                             "load of a shared machine; each command then pays its start-up N times)")
    parser.add_argument("--no-sandbox", action="store_true", help="grade without the sandbox (where bwrap is missing)")
    parser.add_argument("--keep", action="store_true", help="keep the class folders (printed)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    cores = default_jobs()
    print(f"Synthetic class: {args.students} submissions of {args.session}; {cores} cores; ours with --jobs {args.jobs}"
          f"{' (no sandbox)' if args.no_sandbox else ' (sandboxed)'}; scratch {work}")
    template = work / "template"
    students = build_class(template, args.session, args.students)

    serial, serial_feedback, ours, same = [], [], [], True
    chunks = [students[i::args.chunks] for i in range(args.chunks)]
    cmd = [sys.executable, "-m", "course", "grade", args.session, "--jobs", str(args.jobs)]
    cmd += ["--no-sandbox"] if args.no_sandbox else []
    for round_ in range(args.repeat):
        a, b = work / f"serial{round_}", work / f"ours{round_}"
        for copy in (a, b):
            shutil.copytree(template, copy, ignore=shutil.ignore_patterns("submitted"))
        s_time = f_time = o_time = 0.0
        for chunk in chunks:  # --chunks N: alternate the two on slices of the class (fairer on a busy machine)
            for copy in (a, b):
                for student in chunk:
                    shutil.copytree(template / "submitted" / student, copy / "submitted" / student)
            s_time += timed([sys.executable, "-m", "nbgrader", "autograde", args.session], a)
            f_time += timed([sys.executable, "-m", "nbgrader", "generate_feedback", args.session], a)
            o_time += timed(cmd, b)
        serial.append(s_time)
        serial_feedback.append(f_time)
        ours.append(o_time)
        sa, sb = scores_of(a, args.session), scores_of(b, args.session)
        diff = sorted(s for s in students if sa.get(s) != sb.get(s))
        same = same and not diff
        print(f"round {round_ + 1}: serial nbgrader autograde {serial[-1]:6.1f} s (+ generate_feedback "
              f"{serial_feedback[-1]:.1f} s) | course grade --jobs {args.jobs} {ours[-1]:6.1f} s | "
              f"ratio {serial[-1] / ours[-1]:.2f}x | scores equal for {len(students) - len(diff)}/{len(students)} "
              "students" + (f"; DIFFERENT: {', '.join(diff[:5])}" if diff else "")
              + f"  [load average before->after, last slice: serial {LOADS[-3]}, ours {LOADS[-1]}]")

    s, f, o = statistics.median(serial), statistics.median(serial_feedback), statistics.median(ours)
    n = len(students)
    print()
    print(f"throughput  serial nbgrader autograde: {n / s:5.2f} submissions/s ({s / n:.2f} s each)")
    print(f"            course grade (+ feedback): {n / o:5.2f} submissions/s ({o / n:.2f} s each)")
    print(f"RATIO ours / serial autograde          = {s / o:.2f}x   (goal >= 0.9 x {cores} cores = {0.9 * cores:.1f}x)")
    print(f"RATIO ours / serial autograde+feedback = {(s + f) / o:.2f}x   (like for like: both write feedback)")
    print(f"scores identical student by student: {'yes' if same else 'NO'}")

    med = breakdown(work / "ours0", args.session)
    k_bare, c_bare = bare_cost(work / "ours0", args.session, students, sandboxed=not args.no_sandbox, samples=5)
    k_plain, c_plain = bare_cost(work / "ours0", args.session, students, sandboxed=False, samples=5)
    per_sub = med["autograde"] + med["feedback"]
    print()
    print(f"Where one submission's time goes in course grade (median over {n}, {args.jobs} at once on {cores} cores):")
    for key, label in (("kernel_start", "kernel start"), ("cells", "cells"), ("kernel_stop", "kernel shutdown"),
                       ("nbgrader", "nbgrader (sanitize, checksums, files)"), ("db", "database (SQL)"),
                       ("feedback", "feedback HTML")):
        print(f"  {label:40} {med[key]:6.2f} s  {100 * med[key] / per_sub:4.0f}%")
    print(f"  {'total':40} {per_sub:6.2f} s   (mean in a worker, scan included: {med['mean_total']:.2f} s)")
    print(f"Bare cost, one kernel alone, plain nbclient: kernel start {k_plain:.2f} s"
          f" + cells {c_plain:.2f} s = {k_plain + c_plain:.2f} s; in the sandbox {k_bare:.2f} s + {c_bare:.2f} s"
          f" = {k_bare + c_bare:.2f} s")
    print(f"Wall time per submission and core: {o * args.jobs / n:.2f} s = {o * args.jobs / n / (k_plain + c_plain):.2f}x "
          f"the bare cost (serial nbgrader: {s / n:.2f} s = {s / n / (k_plain + c_plain):.2f}x); of it, "
          f"{max(0.0, o * args.jobs / n - med['mean_total']):.2f} s is outside the workers' grading (start-up: "
          f"imports, sandbox check, gradebook; the CSV; waiting for the slowest student)")
    print("(on a shared machine compare the load averages above; --repeat N and --chunks N alternate the two)")
    if args.keep:
        print(f"class folders kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
