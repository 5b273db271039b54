"""Command line for students, self-learners and instructors.

    python -m course start          serve work/ in JupyterLab: opens the browser, or prints the URL to open
    python -m course demo           release a session, grade three sample students, print the grades
    python -m course grade A        grade every submission of assignment A on all cores, sandboxed
    python -m course selfcheck NB   grade one notebook with the hidden tests, here (exit 1 if a check fails)
    python -m course scan PATH...   flag code in submissions that reaches into the grading machinery
    python -m course analytics A    score distribution, pass rates, hardest checks, flagged submissions
    python -m course journal        every practice attempt recorded on this machine (--json for a list)
    python -m course plan           the three-week plan: what is done, what is next and why
    python -m course progress       plots of checks per skill, minutes per phase and mistakes over attempts
    python -m course practice S     a new practice round of session S: same interview, new numbers
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="serve work/ in JupyterLab (no display: print the URL to open)")
    p_start.add_argument("--lab", action="store_true", help=argparse.SUPPRESS)  # make lab; start does the same
    p_start.add_argument("--no-browser", action="store_true", help="print the URL, never open a browser")
    p_start.add_argument("--port", type=int, help="the port (default: the first free one from 8888)")
    p_start.add_argument("--root", type=Path, default=ROOT,
                         help="the course folder whose release/ is copied to work/ (default: this repository)")
    sub.add_parser("demo", help="release, grade sample students, print the grades")
    from .grading.command import add_arguments as grade_arguments

    grade_arguments(sub.add_parser("grade", help="grade every submission of an assignment (parallel, sandboxed)"))
    tools = {"selfcheck": ("grade one notebook with the full hidden tests (exit 1 if any check fails)",
                           "course.grading.selfcheck"),
             "scan": ("flag code that reaches into the grading machinery", "course.grading.scan"),
             "analytics": ("class analytics of an assignment from the gradebook", "course.grading.analytics"),
             "journal": ("every practice attempt recorded on this machine", "course.journal"),
             "plan": ("the three-week plan: done, next and why", "course.plan"),
             "progress": ("progress plots over attempts (--out FILE.png)", "course.progress"),
             "practice": ("a new practice round of a session: the same interview with new numbers", "course.practice")}
    for name, (text, _) in tools.items():
        sub.add_parser(name, help=text, add_help=False).add_argument("args", nargs=argparse.REMAINDER)
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in tools:  # the tool parses its own options (--help included)
        import importlib

        return importlib.import_module(tools[argv[0]][1]).main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "start":
        from .start import start

        return start(args.root.resolve(), port=args.port, open_browser=False if args.no_browser else None)
    if args.command == "grade":
        from .grading.command import run as grade

        return grade(args)
    if args.command == "demo":
        from .demo import main as demo

        return demo()
    return 2
