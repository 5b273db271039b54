"""Helpers for the System Design Interview Lab notebooks.

One module per job: ``units`` (pint registry and formatting), ``checks`` (visible-test feedback),
``assumptions`` (the pinned interview assumptions), ``architecture`` (diagram language, drawing,
structural checks), ``schema`` (DDL checks in SQLite), ``api`` (endpoint checks), ``rubric``,
``timeline``, ``interviewer``, ``keypoints``, ``whatif`` and ``cards`` (widgets and reference cards).
"""

__version__ = "0.1.0"
