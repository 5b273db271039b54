"""Build the course: session specs → ``source/<id>/<id>.ipynb`` → ``release/`` (via nbgrader), and the
plan notebook → ``release/plan.ipynb`` (not an assignment: written directly).

    python -m authoring build            # write source/ and regenerate release/
    python -m authoring build --check    # exit 1 if source/ or release/ is stale (CI)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from course.evidence import skill_of
from course.pathfix import ensure_scripts_on_path

from .cells import notebook
from .plan_notebook import PLAN_NOTEBOOK, plan_notebook
from .sections import CURVEBALL_CELLS
from .sessions import SESSIONS

ROOT = Path(__file__).resolve().parent.parent
_SECTION = re.compile(r"^public_checks_passed\(\s*['\"](.*?)['\"]\s*\)", re.MULTILINE)


def render(session_id: str) -> str:
    """The source notebook of one session as the exact text written to disk."""
    cells = SESSIONS[session_id].cells()
    missing = [cell_id for cell_id in CURVEBALL_CELLS if cell_id not in {c.cell_id for c in cells}]
    if missing:  # the shared structure: every session has its curveball (sections.curveball)
        raise ValueError(f"{session_id} has no curveball ({', '.join(missing)} missing): add "
                         "`*curveball(CURVEBALL, ...)` after its high-level design")
    nb = notebook(cells, prefix=session_id.split("_")[0])
    return normalized(nb)


def sample_data(session_id: str) -> str:
    """``course/data/<id>.sample.json``: the sample's assumptions and figures the visible checks compare with."""
    merged: dict = {"assumptions": {}, "units": {}, "expected": {}, "whole_numbers": {}, "sections": []}
    for cell in SESSIONS[session_id].cells():
        for key, value in cell.data.items():
            merged.setdefault(key, {}).update(value)
        for label in _SECTION.findall(cell.source):  # the visible check cells, for the journal's totals
            merged["sections"].append({"label": label, "skill": skill_of(label)})
    # Assumptions a practice round keeps (constants of the problem, or a ladder whose order matters).
    merged["practice_keep"] = sorted(getattr(SESSIONS[session_id], "PRACTICE_KEEP", ()))
    return json.dumps(merged, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def sample_path(root: Path, session_id: str) -> Path:
    return root / "course" / "data" / f"{session_id}.sample.json"


def normalized(nb: nbformat.NotebookNode) -> str:
    """Stable JSON: sorted keys, one-space indent, trailing newline (small, reviewable diffs)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def render_plan() -> str:
    """``release/plan.ipynb`` as the exact text written to disk."""
    return normalized(plan_notebook())


def source_path(root: Path, session_id: str) -> Path:
    return root / "source" / session_id / f"{session_id}.ipynb"


def write_sources(root: Path = ROOT) -> list[Path]:
    written = []
    for session_id in SESSIONS:
        for path, text in ((source_path(root, session_id), render(session_id)),
                           (sample_path(root, session_id), sample_data(session_id))):
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                written.append(path)
    return written


def generate_release(root: Path, out: Path | None = None) -> Path:
    """Run ``nbgrader generate_assignment`` for every session in a scratch copy, add the plan notebook;
    return its release dir.

    The scratch course has its own gradebook, so building never touches an instructor's real one.
    """
    ensure_scripts_on_path()
    scratch = Path(tempfile.mkdtemp(prefix="release-"))
    shutil.copytree(root / "source", scratch / "source")
    shutil.copy(root / "nbgrader_config.py", scratch / "nbgrader_config.py")
    env_db = f"sqlite:///{scratch / 'gradebook.db'}"
    for session_id in SESSIONS:
        result = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", session_id, "--force",
             f"--CourseDirectory.db_url={env_db}", f"--CourseDirectory.root={scratch}"],
            cwd=scratch, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"generate_assignment {session_id} failed:\n{result.stdout}\n{result.stderr}")
    for nb_path in (scratch / "release").rglob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        nb_path.write_text(normalized(nb), encoding="utf-8")
    release = scratch / "release"
    (release / PLAN_NOTEBOOK).write_text(render_plan(), encoding="utf-8")  # beside the sessions
    if out is not None:
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(release, out)
        shutil.rmtree(scratch)
        return out
    return release


def stale(root: Path = ROOT) -> list[str]:
    """Files under source/ or release/ that differ from a fresh build."""
    problems = []
    for session_id in SESSIONS:
        for path, text in ((source_path(root, session_id), render(session_id)),
                           (sample_path(root, session_id), sample_data(session_id))):
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                problems.append(str(path.relative_to(root)))
    fresh = generate_release(root)
    try:
        committed = {p.relative_to(root / "release") for p in (root / "release").rglob("*") if p.is_file()}
        generated = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        for rel in sorted(committed ^ generated):
            problems.append(f"release/{rel} (missing or extra)")
        for rel in sorted(committed & generated):
            if (root / "release" / rel).read_bytes() != (fresh / rel).read_bytes():
                problems.append(f"release/{rel}")
    finally:
        shutil.rmtree(fresh.parent)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authoring", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        for p in problems:
            print(f"stale: {p}")
        print("source/ and release/ are up to date" if not problems else "run: make release")
        return 1 if problems else 0
    for path in write_sources():
        print(f"wrote {path.relative_to(ROOT)}")
    generate_release(ROOT, ROOT / "release")
    print("regenerated release/")
    return 0
