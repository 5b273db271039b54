"""The student's and self-learner's JupyterLab (``make start``, ``make lab``): Jupyter config folders.

``course/start.py`` launches JupyterLab with these folders first on ``JUPYTER_CONFIG_PATH`` and
``LabApp.app_settings_dir`` pointing at :data:`SETTINGS`; nothing is installed into the venv, so the
instructor's own ``jupyter lab`` in the repository is unaffected.

- :data:`STUDENT` (always): no JupyterLab news or update checks and a read-only extension manager (nothing
  leaves the machine); no Formgrader, Create Assignment or Course List (labextension plugins disabled in
  ``labconfig/page_config.json``, their server extensions off); nbgrader's Validate button runs the course's
  self-check instead of ``nbgrader validate`` (:mod:`course.labconfig.validate`).
- :data:`SELF_LEARNER` (when no nbgrader exchange is configured): no Assignment List either, as there is
  nothing to fetch or submit to.
- :data:`SETTINGS`: JupyterLab setting overrides: the news pop-up and the update check answered "no"
  (the same file as ``hub/lab-overrides.json``, which ``hub/install.sh`` installs for a class).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Jupyter config folder for every student's local JupyterLab.
STUDENT = HERE / "student"
#: Jupyter config folder added when there is no course exchange (a self-learner).
SELF_LEARNER = HERE / "self-learner"
#: ``LabApp.app_settings_dir``: ``overrides.json`` (JupyterLab's default settings, overridden).
SETTINGS = HERE / "settings"
