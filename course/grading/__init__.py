"""The grader's side of the trust boundary: nothing here runs in, or is readable from, a student's kernel.

``course/`` outside this package is what the student's kernel imports (widgets, units, the instant
checks). This package runs only in the grader's processes; the grading sandbox hides it from the kernel.
The one piece that crosses is :mod:`channel`, sent to the kernel as source text to evaluate answers and
send plain data back.

Verification (every mark): ``cases`` (what to ask: declarative cases the session specs attach to test
cells) → ``channel`` (the narrow channel into the kernel) → ``reference`` (the reference solution, run
here) → ``compare`` (judged here) → ``verify`` (nbgrader's Execute, test cells judged that way).

Grading a class (``python -m course grade``): ``runner`` (find submissions, the journal, progress, retries,
the CSV) hands students to an engine (``engines``: local processes on every core; ``dask_engine``: one Dask
task per student on a cluster), whose ``worker`` grades one student through nbgrader's Autograde and
GenerateFeedback in a long-lived process, with ``pool`` starting the next sandboxed kernel meanwhile;
``execute`` (verification, sandboxed and limited, salvaging what ran when a kernel dies or hangs),
``sandbox`` (the bubblewrap kernel), ``journal`` (which students are done, for safe re-runs), ``report``
(``autograded/ASSIGNMENT.csv``), ``progress``, ``command`` (the CLI). Also: ``hygiene`` (what a submission
may carry), ``sanitize`` (nothing a student wrote runs in an instructor's page), ``scan`` (flags for a
person to review, never a grade), ``selfcheck``, ``analytics``.
"""

from __future__ import annotations
