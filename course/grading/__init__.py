"""Grading a whole class with nbgrader: in parallel, sandboxed, crash-safe (``python -m course grade``).

One job per module: ``runner`` (the command: find submissions, fan out, progress, the CSV), ``worker``
(one student through nbgrader's Autograde and GenerateFeedback in a long-lived process), ``execute``
(nbgrader's Execute preprocessor, sandboxed, salvaging what ran when the kernel dies or hangs),
``sandbox`` (the bubblewrap kernel), ``journal`` (which students are done, for safe re-runs),
``report`` (``autograded/ASSIGNMENT.csv``), ``progress`` (the progress bar).
"""

from __future__ import annotations
