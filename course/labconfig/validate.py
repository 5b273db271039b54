"""nbgrader's Validate button, wired to the course's self-check (a Jupyter server extension).

nbgrader's Validate (the notebook toolbar's button and the Assignment List's) runs ``nbgrader validate``:
it runs the notebook's visible check cells only and, since every check cell of the course catches its own
failure and prints a card, says "Success! Your notebook passes all the tests" for a notebook the hidden
checks score 18 / 28. In the student's JupyterLab (``course/labconfig/student``) nbgrader's
``validate_assignment`` server extension is off and this one answers the same two URLs instead:

- ``POST assignments/validate`` runs ``python -m course.labconfig.validate NOTEBOOK``, that is
  :func:`course.grading.selfcheck.selfcheck` (the hidden checks too, nbgrader's real autograder, in a
  throw-away course) in a child process, and answers in ``nbgrader validate``'s shape, so the button's own
  dialog shows each failed check with its reason, or its success message only when every check passed.
  The self-check also writes the feedback page next to the notebook (``<name>.feedback.html``).
- ``GET nbgrader_version`` answers the button's version check, as nbgrader's extension does.

The self-check reads the hidden checks from the course's ``source/`` (the repository a self-learner has;
``make start`` installs the course editable, so the package finds it). ``nbgrader validate`` on the command
line is unchanged.
"""

from __future__ import annotations

import asyncio
import html
import json
import sys
import textwrap
from pathlib import Path

#: Seconds one self-check may take (a session's notebook grades in about 20 s on a laptop).
TIMEOUT = 600


def validate(notebook: str | Path) -> dict:
    """Self-check ``notebook``; the result as nbgrader's validate handler returns it (``success``, ``value``)."""
    from ..grading.selfcheck import SelfCheckError, selfcheck
    from ..offline import check_name

    try:
        report = selfcheck(notebook)
    except SelfCheckError as exc:
        return {"success": False, "value": f"The self-check could not grade this notebook: {exc}"}
    if report.passed:
        return {"success": True, "value": {}}  # nbgrader's dialog: "Success! Your notebook passes all the tests."
    failed = [{"source": f"Check “{check_name(c.name)}” ({c.name}): {c.score:g} / {c.max_score:g} points",
               "error": html.escape(_wrap(c.reason or "no points"))}
              for c in report.cells if not c.passed]
    summary = (f"Autograded: {report.score:g} / {report.max_score:g}, hidden checks included "
               f"({len(failed)} of {len(report.cells)} checks short of full points).")
    if report.written_max:
        summary += f" Written answers ({report.written_max:g} pts) are graded by a person."
    if report.feedback:
        summary += f" Feedback page: {report.feedback.name}, next to the notebook."
    if failed:
        failed[-1]["error"] += "\n\n" + html.escape(_wrap(summary))
    else:  # no check cell at all
        failed = [{"source": "Self-check", "error": html.escape(summary)}]
    return {"success": True, "value": {"failed": failed}}


def _wrap(text: str, width: int = 100) -> str:
    """Lines the dialog shows whole (it prints them in a <pre>, which does not wrap)."""
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ", break_on_hyphens=False) if line else ""
                     for line in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    """``python -m course.labconfig.validate NOTEBOOK``: print :func:`validate`'s result as one JSON line."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m course.labconfig.validate NOTEBOOK", file=sys.stderr)
        return 2
    result = validate(argv[0])
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    return 0


# --- the server extension ------------------------------------------------------------------------------

def _handlers():
    from jupyter_server.base.handlers import JupyterHandler
    from nbgrader.server_extensions.validate_assignment.handlers import NbGraderVersionHandler
    from tornado import web

    class SelfCheckHandler(JupyterHandler):
        """``POST assignments/validate`` (``path``: the notebook, relative to the server's root)."""

        @web.authenticated
        async def post(self) -> None:
            try:
                path = self.get_argument("path")
            except web.MissingArgumentError:
                path = (self.get_json_body() or {}).get("path", "")
            root = Path(self.settings["server_root_dir"]).expanduser().resolve()
            target = (root / path).resolve()
            if not target.is_relative_to(root):
                raise web.HTTPError(403, "Access denied: path outside allowed directory")
            if not target.is_file():
                raise web.HTTPError(404, f"no such notebook: {path}")
            self.finish(json.dumps(await self._selfcheck(target)))

        async def _selfcheck(self, notebook: Path) -> dict:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "course.labconfig.validate", str(notebook), cwd=str(notebook.parent),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            try:
                out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()
                return {"success": False, "value": f"The self-check took more than {TIMEOUT} s and was stopped."}
            lines = out.decode(errors="replace").strip().splitlines()
            try:
                return json.loads(lines[-1])
            except (IndexError, ValueError):
                self.log.error("self-check of %s failed:\n%s", notebook, err.decode(errors="replace"))
                tail = "\n".join(err.decode(errors="replace").strip().splitlines()[-5:])
                return {"success": False, "value": f"The self-check failed (exit status {process.returncode}):\n{tail}"}

    return [("assignments/validate", SelfCheckHandler), ("nbgrader_version", NbGraderVersionHandler)]


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "course.labconfig.validate"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join

    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base_url, pattern), handler)
                                           for pattern, handler in _handlers()])
    serverapp.log.info("Validate runs the course's self-check (course.labconfig.validate)")


if __name__ == "__main__":
    sys.exit(main())
