"""Authoring: the course's notebooks are generated from session specs, so nine sessions stay consistent.

``authoring/sessions/<id>.py`` holds one session's prose, solutions and tests as data; ``sections.py``
renders the parts every session shares; ``build.py`` writes ``source/<id>/<id>.ipynb`` and regenerates
``release/`` with nbgrader. Nothing here is imported by the notebooks: solutions and hidden tests stay out of
the ``course`` package that the grading kernel can see.
"""
