"""JupyterHub for a class of the System Design Interview Lab.

Real Unix accounts (each user's JupyterLab runs as that account), the nbgrader exchange between them,
and the Formgrader for the instructors only. Set up once as root with ``hub/install.sh`` (it makes
PREFIX, by default ``/opt/sysdesign-lab``), list the class in ``PREFIX/class.toml``, then:

    sudo COURSE_HUB_PREFIX=/opt/sysdesign-lab /opt/sysdesign-lab/venv/bin/jupyterhub -f hub/jupyterhub_config.py

Roles reach each user's server through ``JUPYTER_CONFIG_PATH`` (``PREFIX/jupyter/<role>`` before
``PREFIX/jupyter/common``):

- everyone: the course id, the exchange, private submissions, JupyterLab without news or update checks;
- students: the Assignment List only (no Formgrader, Create Assignment or Course List);
- instructors: the course in ``~/<course_dir>`` with its own ``nbgrader_config.py``, the Formgrader.

Environment: ``COURSE_HUB_PREFIX`` (where install.sh put everything), ``COURSE_HUB_API_TOKEN`` (optional:
registers a ``course-admin`` service with that token, for scripts and the tests, allowed to start users'
servers and call into them), ``COURSE_HUB_SHARED_PASSWORD`` (with ``authenticator = "shared-password"``).
"""

import os
import tomllib
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

PREFIX = Path(os.environ.get("COURSE_HUB_PREFIX", "/opt/sysdesign-lab"))
VENV = PREFIX / "venv"
STATE = PREFIX / "state"
if not (PREFIX / "class.toml").is_file():
    raise SystemExit(f"{PREFIX / 'class.toml'} not found: run hub/install.sh {PREFIX} first, or set COURSE_HUB_PREFIX")
CLASS = tomllib.loads((PREFIX / "class.toml").read_text())

COURSE_ID = CLASS.get("course_id", "sysdesign-lab")
INSTRUCTORS = set(CLASS["instructors"])
STUDENTS = set(CLASS["students"])
if INSTRUCTORS & STUDENTS:
    raise ValueError(f"{PREFIX / 'class.toml'}: {sorted(INSTRUCTORS & STUDENTS)} listed as instructor and student")

# --- network: loopback by default; a TLS reverse proxy in front for a real class ----------------------
c.JupyterHub.bind_url = CLASS.get("bind_url", "http://127.0.0.1:8000")
c.JupyterHub.hub_bind_url = CLASS.get("hub_bind_url", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = CLASS.get("proxy_api_url", "http://127.0.0.1:8001")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")

# --- who may log in ---------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = CLASS.get("authenticator", "pam")
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = set(CLASS.get("admins", []))
if os.environ.get("COURSE_HUB_SHARED_PASSWORD"):
    c.SharedPasswordAuthenticator.user_password = os.environ["COURSE_HUB_SHARED_PASSWORD"]
# nbgrader's group names, for the admin page (and nbgrader's JupyterHubAuthPlugin, should you enable it).
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE_ID}": {"users": sorted(INSTRUCTORS)},
    f"nbgrader-{COURSE_ID}": {"users": sorted(STUDENTS)},
}


# --- each user's JupyterLab, as their own Unix account -------------------------------------------------
def role(spawner) -> str:
    return "instructor" if spawner.user.name in INSTRUCTORS else "student"


c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "COURSE_ID": COURSE_ID,  # read by nbgrader_config.py (the course's and hub/jupyter/common's)
    "COURSE_EXCHANGE": str(CLASS.get("exchange", PREFIX / "exchange")),
    "COURSE_DIR": CLASS.get("course_dir", COURSE_ID),
    "JUPYTER_CONFIG_PATH": lambda spawner: os.pathsep.join(
        [str(PREFIX / "jupyter" / role(spawner)), str(PREFIX / "jupyter" / "common")]),
}

# --- a token for scripts (and the tests): start servers, call into them --------------------------------
if os.environ.get("COURSE_HUB_API_TOKEN"):
    c.JupyterHub.services = [{"name": "course-admin", "api_token": os.environ["COURSE_HUB_API_TOKEN"]}]
    c.JupyterHub.load_roles = [{
        "name": "course-admin",
        "services": ["course-admin"],
        "scopes": ["admin:users", "admin:servers", "access:servers", "tokens", "read:groups"],
    }]
