"""The ``grade`` subcommand of ``python -m course``: arguments, the summary printed, the exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings

SCHEDULER_ENV = "COURSE_DASK_SCHEDULER"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="the assignment to grade, e.g. session1_chat")
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help="students graded at once (default: the number of cores)")
    parser.add_argument("--force", action="store_true",
                        help="grade every student again, even those already graded with the same submission")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code without the bubblewrap sandbox (it can then read the hidden tests)")
    parser.add_argument("--course-dir", default=".", help="the course folder (default: the current one)")
    parser.add_argument("--db-url", default=None,
                        help="gradebook URL (default: what nbgrader_config.py says: COURSE_DB_URL or gradebook.db)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help=f"grade on a Dask cluster: its scheduler, tcp://HOST:PORT or a scheduler file "
                             f"(default: ${SCHEDULER_ENV}; unset or '': local processes)")


def run(args: argparse.Namespace) -> int:
    """Grade, print a summary; exit 0 when every student is graded, 1 when some failed, 2 when it cannot start."""
    warnings.filterwarnings("ignore")  # nbgrader + SQLAlchemy 2.1 SAWarning noise, harmless
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    from .runner import GradingError, grade

    if args.jobs is not None and args.jobs < 1:
        print("--jobs must be at least 1", file=sys.stderr)
        return 2
    scheduler = args.scheduler if args.scheduler is not None else os.environ.get(SCHEDULER_ENV, "")
    if scheduler and args.jobs is not None:
        print("note: --jobs is ignored with a Dask scheduler: the cluster's workers grade one student each at once",
              file=sys.stderr)
    try:
        result = grade(args.assignment, course_dir=args.course_dir, jobs=args.jobs, force=args.force,
                       use_sandbox=not args.no_sandbox, db_url=args.db_url, scheduler=scheduler or None)
    except GradingError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: students graded so far are kept; run the same command again to grade the rest",
              file=sys.stderr)
        return 130
    failed = result.failed
    print(f"{len(result.rows)} students: {len(result.rows) - len(failed)} graded, {len(failed)} failed "
          f"({len(result.graded_now)} graded in this run, {len(result.skipped)} already done) -> {result.csv}")
    for row in failed:
        detail = result.outcomes.get(row["student"], {}).get("detail", "")
        first = detail.strip().splitlines()[0] if detail.strip() else ""
        print(f"  {row['student']}: {row['status']}" + (f"  ({first[:160]})" if first else ""))
    print(f"Feedback: feedback/<student>/{args.assignment}/; written answers: nbgrader formgrader")
    return 1 if failed else 0
