"""The plan notebook, ``release/plan.ipynb``: the three-week plan and the progress plots, next to the sessions.

``make release`` writes it (``authoring/build.py``); ``make start`` copies it into the student's
``work/plan.ipynb`` once, like a session (``course/start.py``). It is not an nbgrader assignment: nothing
in it is graded, and it reads only the practice journal on the student's machine.
"""

from __future__ import annotations

import nbformat

from course.start import PLAN_NOTEBOOK

from .cells import Cell, code, md, notebook

__all__ = ["PLAN_NOTEBOOK", "cells", "plan_notebook"]


def cells() -> list[Cell]:
    """The plan notebook's cells: a few words from a coach, the plan, the plots, how to start a round."""
    return [
        md("""
            # Your three-week plan

            Three weeks, one interview every two days: the basics in week 1, bigger products in week 2, the
            large systems and a complete mock interview in week 3. Every session you work through is
            recorded in your practice journal, on this machine only; this notebook reads it and tells you
            what to do next, and why. Run it again (**Run → Run All Cells**) whenever you finish a session.
            """, cell_id="plan-intro"),
        code("""
            from course.plan import show_plan

            show_plan()
            """, cell_id="plan-show"),
        md("""
            ## How your practice is going

            The newest attempt is on the right.

            - **(a) Checks passed on the first try.** In an interview there is no second try: a skill that
              rarely passes first time is the one to practise, even when you fix it afterwards.
            - **(b) Minutes per phase.** The black tick is the seed's budget. An orange bar ran over by more
              than a quarter; time lost early is usually taken from the deep dive.
            - **(c) Mistakes.** The slips the checks diagnosed. One that keeps coming back deserves a
              practice round of its own.
            """, cell_id="plan-progress-intro"),
        code("""
            from course.progress import show_progress

            show_progress()
            """, cell_id="plan-progress"),
        md("""
            ## Start a practice round

            A practice round is the same interview with new numbers: the interviewer's answers change, so
            you work every figure out again. Your earlier work stays as it is. In a terminal
            (**File → New → Terminal**): `python -m course practice session1_chat`, with the session the
            plan names; or remove the `#` below, put that session in, and run the cell.
            """, cell_id="plan-practice-intro"),
        code("""
            from course.practice import practise_again

            # practise_again("session1_chat")
            """, cell_id="plan-practice"),
    ]


def plan_notebook() -> nbformat.NotebookNode:
    """The plan notebook, with stable cell ids and no outputs."""
    return notebook(cells(), prefix="plan")
