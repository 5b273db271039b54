"""Grading a class: ``python -m course grade`` against serial ``nbgrader autograde`` and bare execution, in one run.

    python benchmarks/grading.py [--students 40] [--session session1_chat] [--jobs N] [--repeat 1] [--chunks 1]
                                 [--pool-off-too] [--sizes 50,200,1000]

Builds a synthetic class of a real session (every student answers a different, seeded subset of the
questions; a few hand in the release untouched), then, slice by slice (``--chunks``), measures:

1. serial ``nbgrader autograde`` (then ``nbgrader generate_feedback``, timed apart, since our command
   writes feedback too);
2. **bare serial execution**: the same submitted notebooks run one after another with plain nbclient,
   no sandbox, no nbgrader, no verification: only kernel start plus every code cell is timed (not the
   kernel's shutdown, not this process's start-up). The cost of just running the notebooks;
3. ``python -m course grade --jobs N`` (sandboxed, verified, feedback included), warm kernels on;
4. with ``--pool-off-too``: the same command with warm kernels off (``COURSE_WARM_KERNELS=0``).

Prints two ratios: ours against serial ``nbgrader autograde`` and ours against the bare serial execution
(the goal: at least 0.9 x the cores), checks every student's score is the same both ways, and shows
where one submission's time goes (kernel start, cells, shutdown, nbgrader, database, feedback).

``--sizes 50,200,1000`` instead grades classes of those sizes with the command alone and prints a table:
seconds per submission and peak memory (the grading processes' and the runner's) as the class grows.

A benchmark, not a test: it asserts nothing about time.
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


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    before = os.getloadavg()[0]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
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


def run_bare(nb, folder: Path, **client_options) -> tuple[float, float]:
    """Seconds of (kernel start, every code cell as written) for ``nb`` run in ``folder`` with plain nbclient."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}}, **client_options)
    t0 = time.perf_counter()
    with client.setup_kernel(stderr=subprocess.DEVNULL):  # its start-up notes are not wanted here
        t1 = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def bare_cost(course: Path, session: str, students: list[str], sandboxed: bool, samples: int) -> tuple[float, float]:
    """Median (kernel start, cells) of running submissions' autograded notebooks with plain nbclient.

    Every code cell is run as written (test cells' visible checks included), with nothing of nbgrader
    or of the grader's verification around them: the cost of just running the notebook.
    """
    import nbformat

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
        start, run = run_bare(nb, folder, **kwargs)
        starts.append(start)
        cells.append(run)
    os.environ.pop("NBGRADER_EXECUTION", None)
    return statistics.median(starts), statistics.median(cells)


def bare_serial(course: Path, session: str, students: list[str]) -> dict[str, float]:
    """Run ``students``' submitted notebooks one after another, bare: plain nbclient, no sandbox.

    Timed: kernel start (until the client is ready) plus every code cell, as written, nothing else.
    """
    import nbformat

    import resource

    os.environ["NBGRADER_EXECUTION"] = "autograde"  # the course's widgets render statically, as when grading
    starts, cells = [], []
    before = os.getloadavg()[0]
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = time.process_time()
    try:
        for student in students:
            folder = course / "submitted" / student / session
            nb = nbformat.read(folder / f"{session}.ipynb", as_version=4)
            start, run = run_bare(nb, folder, shutdown_kernel="immediate")
            starts.append(start)
            cells.append(run)
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)
    LOADS.append(f"{before:.1f}->{os.getloadavg()[0]:.1f}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    kernel_cpu = after.ru_utime + after.ru_stime - kids.ru_utime - kids.ru_stime  # reaped kernels (shutdown included)
    return {"total": sum(starts) + sum(cells), "start": statistics.median(starts), "cells": statistics.median(cells),
            "kernel_cpu": kernel_cpu, "client_cpu": time.process_time() - own, "n": len(students)}


# Runs ``python -m course ARGS`` and writes to OUT its own peak memory (KiB) and CPU seconds: the runner's, not
# its workers' (forked workers leave through os._exit, never reaching the ``finally``).
SELF_WRAPPER = """
import json, os, resource, runpy, sys
out, pid = sys.argv[1], os.getpid()
sys.argv = ["course", *sys.argv[2:]]
try:
    runpy.run_module("course", run_name="__main__", alter_sys=True)
finally:
    if os.getpid() == pid:
        use = resource.getrusage(resource.RUSAGE_SELF)
        with open(out, "w") as handle:
            json.dump({"maxrss_kib": use.ru_maxrss, "cpu": use.ru_utime + use.ru_stime}, handle)
"""


def ours_cmd(session: str, jobs: int, no_sandbox: bool, self_file: Path) -> list[str]:
    """``python -m course grade`` through :data:`SELF_WRAPPER` (which costs nothing measurable)."""
    args = ["grade", session, "--jobs", str(jobs)] + (["--no-sandbox"] if no_sandbox else [])
    return [sys.executable, "-c", SELF_WRAPPER, str(self_file), *args]


def runner_self(self_file: Path) -> dict:
    try:
        return json.loads(self_file.read_text())
    except (OSError, ValueError):
        return {"maxrss_kib": 0, "cpu": 0.0}


def journal_of(course: Path, session: str) -> list[dict]:
    lines = (course / "autograded" / ".grading" / f"{session}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def breakdown(course: Path, session: str) -> dict[str, float]:
    """Median seconds per submission from the grading journal."""
    entries = journal_of(course, session)
    timings = [entry["timings"] for entry in entries]
    keys = ("kernel_start", "cells", "kernel_stop", "autograde", "db", "feedback", "total", "warm_wait", "warm_launch")
    med = {k: statistics.median(t.get(k, 0.0) for t in timings) for k in keys}
    med["mean_total"] = statistics.mean(t.get("total", 0.0) for t in timings)
    med["nbgrader"] = max(0.0, med["autograde"] - med["kernel_start"] - med["cells"] - med["kernel_stop"] - med["db"]
                          - med["warm_launch"])
    med["warm_share"] = sum(1 for e in entries if e.get("kernel", {}).get("pool") == "warm") / max(1, len(entries))
    med["worker_peak_mb"] = max((e.get("peak_rss_mb", 0) for e in entries), default=0)
    return med


SPLIT = (("kernel_start", "kernel start (warm: taking it)"), ("cells", "cells"), ("kernel_stop", "kernel shutdown"),
         ("warm_launch", "launching the next warm kernel"), ("nbgrader", "nbgrader (sanitize, checksums, files)"),
         ("db", "database (SQL)"), ("feedback", "feedback HTML"))


def print_split(label: str, med: dict[str, float]) -> None:
    per_sub = med["autograde"] + med["feedback"]
    print(f"  {label}: {100 * med['warm_share']:.0f}% of the kernels were warm")
    for key, name in SPLIT:
        print(f"    {name:40} {med[key]:6.2f} s  {100 * med[key] / per_sub:4.0f}%")
    print(f"    {'total':40} {per_sub:6.2f} s   (mean in a worker, scan included: {med['mean_total']:.2f} s)")


def sizes_table(args, sizes: list[int], work: Path, cores: int) -> None:
    """Grade classes of each size with the command alone: time per submission and peak memory, as it grows."""
    rows = []
    for size in sizes:
        course = work / f"class{size}"
        t0 = time.perf_counter()
        students = build_class(course, args.session, size)
        built = time.perf_counter() - t0
        self_file = work / f"self{size}.json"
        before = os.getloadavg()[0]
        elapsed = timed(ours_cmd(args.session, args.jobs, args.no_sandbox, self_file), course)
        entries = journal_of(course, args.session)
        tenth = max(1, len(entries) // 10)
        med = breakdown(course, args.session)
        rows.append({
            "n": len(students), "wall": elapsed, "per_sub": elapsed / len(students),
            "per_core": elapsed * min(args.jobs, cores) / len(students),
            "first": statistics.median(e["timings"]["total"] for e in entries[:tenth]),
            "last": statistics.median(e["timings"]["total"] for e in entries[-tenth:]),
            "worker_cpu": statistics.median(e["timings"].get("cpu", 0.0) for e in entries),
            "kernel_cpu": statistics.median(e.get("kernel", {}).get("cpu", 0.0) for e in entries),
            "worker_first": max(e.get("peak_rss_mb", 0) for e in entries[:tenth]), "worker_peak": med["worker_peak_mb"],
            "runner_peak": runner_self(self_file)["maxrss_kib"] // 1024, "runner_cpu": runner_self(self_file)["cpu"],
            "graded": sum(1 for e in entries if e["status"] == "graded"), "built": built, "warm": med["warm_share"],
            "load": f"{before:.1f}->{os.getloadavg()[0]:.1f}"})
        r = rows[-1]
        print(f"  {r['n']:5d} students graded in {r['wall']:7.1f} s ({r['graded']} graded; class built in "
              f"{r['built']:.0f} s; load average {r['load']})", flush=True)
        shutil.rmtree(course, ignore_errors=True)
    warm = "off" if os.environ.get("COURSE_WARM_KERNELS") == "0" else "on"
    print()
    print(f"Class size, {args.session}, {cores} cores, --jobs {args.jobs}"
          f"{' (no sandbox)' if args.no_sandbox else f' (sandboxed, warm kernels {warm})'}:")
    print("| students | wall (s) | s per submission | s per submission-core | in a worker, median s: first 10% / "
          "last 10% | CPU s per submission: grading process / kernel | grading process peak RSS MiB: first 10% / "
          "all | runner peak RSS MiB | runner CPU s | warm kernels | load average |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['wall']:.0f} | {r['per_sub']:.2f} | {r['per_core']:.2f} | {r['first']:.2f} / "
              f"{r['last']:.2f} | {r['worker_cpu']:.2f} / {r['kernel_cpu']:.2f} | {r['worker_first']} / "
              f"{r['worker_peak']} | {r['runner_peak']} | {r['runner_cpu']:.1f} | {100 * r['warm']:.0f}% | {r['load']} |")


def main() -> int:
    from course.grading.runner import default_jobs

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--session", default="session1_chat")
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--repeat", type=int, default=1, help="alternate the measurements this many times")
    parser.add_argument("--chunks", type=int, default=1,
                        help="hand the class in N slices, measuring each slice every way in turn (evens out the "
                             "load of a shared machine; each command then pays its start-up N times)")
    parser.add_argument("--pool-off-too", action="store_true",
                        help="also grade with warm kernels off (COURSE_WARM_KERNELS=0), alternated with the rest")
    parser.add_argument("--sizes", default="", help="comma-separated class sizes (e.g. 50,200,1000): grade each "
                        "with the command alone and print time per submission and peak memory")
    parser.add_argument("--no-sandbox", action="store_true", help="grade without the sandbox (where bwrap is missing)")
    parser.add_argument("--keep", action="store_true", help="keep the class folders (printed)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    cores = default_jobs()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({cores} cores)")
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
        print(f"Class sizes {sizes} of {args.session}; ours with --jobs {args.jobs}; scratch {work}")
        sizes_table(args, sizes, work, cores)
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0

    print(f"Synthetic class: {args.students} submissions of {args.session}; {cores} cores; ours with --jobs {args.jobs}"
          f"{' (no sandbox)' if args.no_sandbox else ' (sandboxed)'}; scratch {work}")
    template = work / "template"
    students = build_class(template, args.session, args.students)

    serial, serial_feedback, bare, ours, ours_off, same = [], [], [], [], [], True
    bare_split: list[dict] = []
    chunks = [students[i::args.chunks] for i in range(args.chunks)]
    runner_cpu: dict[str, float] = {"ours": 0.0, "off": 0.0}
    off_env = {**os.environ, "COURSE_WARM_KERNELS": "0"}
    for round_ in range(args.repeat):
        a, b, c = work / f"serial{round_}", work / f"ours{round_}", work / f"off{round_}"
        copies = (a, b, c) if args.pool_off_too else (a, b)
        for copy in copies:
            shutil.copytree(template, copy, ignore=shutil.ignore_patterns("submitted"))
        s_time = f_time = o_time = x_time = b_time = 0.0
        for chunk in chunks:  # --chunks N: alternate the measurements on slices of the class (fairer on a busy machine)
            for copy in copies:
                for student in chunk:
                    shutil.copytree(template / "submitted" / student, copy / "submitted" / student)
            s_time += timed([sys.executable, "-m", "nbgrader", "autograde", args.session], a)
            f_time += timed([sys.executable, "-m", "nbgrader", "generate_feedback", args.session], a)
            split = bare_serial(template, args.session, chunk)
            bare_split.append(split)
            b_time += split["total"]
            o_time += timed(ours_cmd(args.session, args.jobs, args.no_sandbox, work / "self.json"), b)
            if round_ == 0:
                runner_cpu["ours"] += runner_self(work / "self.json")["cpu"]
            if args.pool_off_too:
                x_time += timed(ours_cmd(args.session, args.jobs, args.no_sandbox, work / "self.json"), c, env=off_env)
                if round_ == 0:
                    runner_cpu["off"] += runner_self(work / "self.json")["cpu"]
        serial.append(s_time)
        serial_feedback.append(f_time)
        bare.append(b_time)
        ours.append(o_time)
        ours_off.append(x_time)
        sa, sb = scores_of(a, args.session), scores_of(b, args.session)
        diff = sorted(s for s in students if sa.get(s) != sb.get(s))
        if args.pool_off_too:
            sc = scores_of(c, args.session)
            diff = sorted(set(diff) | {s for s in students if sc.get(s) != sb.get(s)})
        same = same and not diff
        print(f"round {round_ + 1}: serial nbgrader autograde {serial[-1]:6.1f} s (+ generate_feedback "
              f"{serial_feedback[-1]:.1f} s) | bare serial execution {bare[-1]:6.1f} s | course grade --jobs "
              f"{args.jobs} {ours[-1]:6.1f} s" + (f" (warm kernels off: {ours_off[-1]:.1f} s)" if args.pool_off_too else "")
              + f" | scores equal for {len(students) - len(diff)}/{len(students)} students"
              + (f"; DIFFERENT: {', '.join(diff[:5])}" if diff else ""))
        print(f"  load average before->after each measurement: {', '.join(LOADS)}")
        LOADS.clear()

    s, f, o, bt = (statistics.median(x) for x in (serial, serial_feedback, ours, bare))
    n = len(students)
    print()
    print(f"throughput  serial nbgrader autograde: {n / s:5.2f} submissions/s ({s / n:.2f} s each)")
    print(f"            bare serial execution:     {n / bt:5.2f} submissions/s ({bt / n:.2f} s each: kernel start "
          f"{statistics.median(x['start'] for x in bare_split):.2f} s + cells {statistics.median(x['cells'] for x in bare_split):.2f} s, medians)")
    print(f"            course grade (+ feedback): {n / o:5.2f} submissions/s ({o / n:.2f} s each)")
    if args.pool_off_too:
        x = statistics.median(ours_off)
        print(f"            ... warm kernels off:      {n / x:5.2f} submissions/s ({x / n:.2f} s each)")
    print(f"RATIO ours / serial nbgrader autograde          = {s / o:.2f}x   (like for like, with its feedback: "
          f"{(s + f) / o:.2f}x)")
    print(f"RATIO ours / bare serial execution              = {bt / o:.2f}x   (goal >= 0.9 x {args.jobs} cores = "
          f"{0.9 * args.jobs:.1f}x; per core: {bt / o / args.jobs:.2f})")
    if args.pool_off_too:
        print(f"      ... warm kernels off                      = {bt / statistics.median(ours_off):.2f}x")
    print(f"scores identical student by student: {'yes' if same else 'NO'}")

    print()
    print(f"Where one submission's time goes in course grade (median over {n}, {args.jobs} at once on {cores} cores):")
    print_split("warm kernels on", breakdown(work / "ours0", args.session))
    if args.pool_off_too:
        print_split("warm kernels off", breakdown(work / "off0", args.session))
    print()
    print("CPU seconds per submission (what bounds the ratio on a machine whose cores are all busy):")
    bare_cpu = sum(x["kernel_cpu"] + x["client_cpu"] for x in bare_split) / sum(x["n"] for x in bare_split)
    print(f"  bare:  {bare_cpu:.2f} s (kernel {sum(x['kernel_cpu'] for x in bare_split) / sum(x['n'] for x in bare_split):.2f}"
          f" + nbclient {sum(x['client_cpu'] for x in bare_split) / sum(x['n'] for x in bare_split):.2f}) in "
          f"{bt / n:.2f} s of wall time: the bare run keeps {100 * bare_cpu / (bt / n):.0f}% of one core busy")
    for label, folder, key in (("ours", work / "ours0", "ours"), ("off", work / "off0", "off")):
        if not folder.exists():
            continue
        entries = journal_of(folder, args.session)
        kernels = sum(e.get("kernel", {}).get("cpu", 0.0) for e in entries) / len(entries)
        workers = sum(e["timings"].get("cpu", 0.0) for e in entries) / len(entries)
        runner = runner_cpu[key] / len(entries)
        total = kernels + workers + runner
        print(f"  {'ours' if key == 'ours' else 'ours, warm kernels off'}: {total:.2f} s = kernel {kernels:.2f} "
              f"(start, warm-up, cells; its cgroup's count) + grading process {workers:.2f} (nbgrader, verification, "
              f"feedback) + the command itself {runner:.2f} (start-up, sandbox check, journal, CSV)")
        if key == "ours":
            cores_used = min(args.jobs, cores)
            print(f"  => on {cores_used} cores ours / bare cannot exceed {cores_used} x {bt / n:.2f} s (bare wall per "
                  f"notebook) / {total:.2f} s (our CPU per submission) = {cores_used * (bt / n) / total:.2f}x; "
                  f"measured {bt / o:.2f}x. For 0.9 x {cores_used} the whole grading may spend "
                  f"{(bt / n) / 0.9:.2f} s of CPU per submission, the notebook's kernel included")
    if not args.no_sandbox:
        k_box, c_box = bare_cost(work / "ours0", args.session, students, sandboxed=True, samples=3)
        print(f"The same bare run in the sandbox, one kernel alone (3 samples): kernel start {k_box:.2f} s + cells "
              f"{c_box:.2f} s")
    print(f"Wall time per submission and core: {o * args.jobs / n:.2f} s = {o * args.jobs / bt:.2f}x the bare cost "
          f"({bt / n:.2f} s); serial nbgrader: {s / n:.2f} s = {s / bt:.2f}x")
    print("(on a shared machine compare the load averages above; --repeat N and --chunks N alternate the measurements)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.keep:
        print(f"class folders kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
