"""Grading a whole class with nbgrader: in parallel, sandboxed, crash-safe (``python -m course grade``).

One job per module: ``runner`` (the command: find submissions, fan out, progress, the CSV), ``worker``
(one student through nbgrader's Autograde and GenerateFeedback in a long-lived process), ``execute``
(nbgrader's Execute preprocessor, sandboxed, salvaging what ran when the kernel dies or hangs),
``sandbox`` (the bubblewrap kernel), ``journal`` (which students are done, for safe re-runs),
``report`` (``autograded/ASSIGNMENT.csv``), ``progress`` (the progress bar), ``command`` (its CLI).
The modules that make check cells hard to game (``guard``, ``verified``, ``scan`` and their tools) live
here too; the grading command puts ``scan``'s findings in the CSV's ``flags`` column.
"""

from __future__ import annotations
