"""Command line for students, self-learners and instructors.

    python -m course start          open the course in JupyterLab (headless: run the demo grading)
    python -m course demo           release a session, grade three sample students, print the grades
    python -m course grade A        grade every submission of assignment A on all cores, sandboxed
    python -m course selfcheck NB   grade one notebook with the hidden tests, here (exit 1 if a check fails)
    python -m course scan PATH...   flag code in submissions that reaches into the grading machinery
    python -m course analytics A    score distribution, pass rates, hardest checks, flagged submissions
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER"))


def prepare_workspace(root: Path = ROOT) -> Path:
    """Copy each released session into ``work/`` once; a student's own work there is never overwritten."""
    work = root / "work"
    for session in sorted((root / "release").iterdir()):
        if session.is_dir() and not (work / session.name).exists():
            shutil.copytree(session, work / session.name)
    return work


def start(lab: bool) -> int:
    """JupyterLab on the student's workspace; without a screen (and without --lab), the demo instead."""
    if not lab and not _has_display():
        print("No display found: running the demo grading instead of opening a browser.")
        print("(For JupyterLab on a remote machine: make lab, then open the URL it prints.)\n")
        from .demo import main as demo

        return demo()
    work = prepare_workspace()
    first = sorted(work.glob("*/*.ipynb"))[0].relative_to(work)
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or "jupyter"
    args = [jupyter, "lab", f"--ServerApp.root_dir={work}", str(first)]
    if os.geteuid() == 0:
        args.append("--allow-root")
    if not _has_display():
        args.append("--no-browser")
    return subprocess.call(args, cwd=work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="open the course (headless: run the demo)")
    p_start.add_argument("--lab", action="store_true", help="always start JupyterLab")
    sub.add_parser("demo", help="release, grade sample students, print the grades")
    from .grading.command import add_arguments as grade_arguments

    grade_arguments(sub.add_parser("grade", help="grade every submission of an assignment (parallel, sandboxed)"))
    tools = {"selfcheck": ("grade one notebook with the full hidden tests (exit 1 if any check fails)",
                           "course.grading.selfcheck"),
             "scan": ("flag code that reaches into the grading machinery", "course.grading.scan"),
             "analytics": ("class analytics of an assignment from the gradebook", "course.grading.analytics")}
    for name, (text, _) in tools.items():
        sub.add_parser(name, help=text, add_help=False).add_argument("args", nargs=argparse.REMAINDER)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in tools:  # the tool parses its own options (--help included)
        import importlib

        return importlib.import_module(tools[argv[0]][1]).main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "start":
        return start(args.lab)
    if args.command == "grade":
        from .grading.command import run as grade

        return grade(args)
    if args.command == "demo":
        from .demo import main as demo

        return demo()
    return 2
