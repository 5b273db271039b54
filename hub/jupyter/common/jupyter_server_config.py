# Every user's server (students and instructors): JupyterLab never reaches outside the machine.
c = get_config()  # noqa: F821 - provided by traitlets

c.LabApp.news_url = None  # no Jupyter news feed (None, not "": an empty string keeps the feature on)
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"  # no PyPI check
c.LabApp.extension_manager = "readonly"  # the extension manager never searches PyPI
