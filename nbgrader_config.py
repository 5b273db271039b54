"""nbgrader configuration for the System Design Interview Lab (run nbgrader from this folder)."""

import os
from pathlib import Path

from nbgrader.preprocessors import (
    CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput, ClearSolutions, ComputeChecksums,
    IncludeHeaderFooter, InstantiateTests, LockCells, SaveCells,
)

from course.nbgrader_ext import TextAnswerStub

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = os.environ.get("COURSE_ID", "sysdesign-lab")
# An embedded SQLite gradebook by default; a database URL (e.g. postgresql://...) for larger classes.
# ?timeout=60: wait for another grader's write instead of aborting the whole run after 5 s.
c.CourseDirectory.db_url = os.environ.get("COURSE_DB_URL", f"sqlite:///{HERE / 'gradebook.db'}?timeout=60")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter, InstantiateTests, LockCells, ClearSolutions, TextAnswerStub, ClearOutput,
    CheckCellMetadata, ComputeChecksums, SaveCells, ClearHiddenTests, ClearMarkScheme, ComputeChecksums,
    CheckCellMetadata,
]

# Per-cell limit (nbgrader has no whole-notebook limit). Every cell of a session runs in well under a
# second; 20 s leaves room for a loaded grading machine and stops an infinite loop.
c.Execute.timeout = 20
c.Execute.interrupt_on_timeout = True
# Deleted test cells are put back and run, instead of leaving the grade empty for manual work.
c.OverwriteCells.add_missing_cells = True
c.Execute.kernel_name = "python3"

# Feedback shows which check failed and why, never the hidden tests (nbgrader #917).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from course.nbgrader_ext import RedactTracebacks  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, RedactTracebacks, CSSHTMLHeaderPreprocessor]
# Feedback and formgrader pages load nothing from the internet (no MathJax from cdnjs; course/offline.py).
from course.offline import use_offline_templates  # noqa: E402

use_offline_templates(c)

# Test cells are judged outside the student's kernel (course/grading/verify.py): their source is not run;
# the grader sends each cell's cases (authoring/sessions/<id>.py) to the kernel through one narrow channel,
# takes plain data back and compares it here with the reference solution's. The grading command swaps
# VerifiedExecute for its sandboxed, limited subclass.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import AssignLatePenalties, IgnorePattern, LimitOutput, SaveAutoGrades  # noqa: E402

from course.grading.verify import VerifiedExecute  # noqa: E402

c.VerifiedExecute.course_root = str(HERE)  # its .grading-secret and source/ (never mounted in the sandbox)
c.Autograde.autograde_preprocessors = [
    VerifiedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]

# --- Nothing a student wrote or printed runs in the instructor's browser (course/grading/sanitize.py) ---
# The autograded notebook (what formgrader, feedback and "open live notebook" render) is sanitized last,
# after the grades are saved; feedback sanitizes first (notebooks autograded before this existed); the
# formgrader sanitizes each submission again as it renders it (HTMLExporter is its renderer).
# `nbgrader export` writes a CSV no spreadsheet reads as formulas (course/grading/export.py).
from course.grading.sanitize import SanitizeSubmission, configured_pipeline  # noqa: E402

c.Autograde.autograde_preprocessors = [*configured_pipeline(c, "Autograde", "autograde_preprocessors"),
                                       SanitizeSubmission]
c.GenerateFeedback.preprocessors = [SanitizeSubmission, *configured_pipeline(c, "GenerateFeedback", "preprocessors")]
c.HTMLExporter.preprocessors = [SanitizeSubmission]
c.ExportApp.plugin_class = "course.grading.export.SafeCsvExportPlugin"

# --- Cell hygiene (course/grading/hygiene.py) ---
# A pasted, duplicated, relabelled or malformed nbgrader cell never makes nbgrader refuse the notebook
# ("invalid notebook", empty score): DropUnknownCells runs first in the sanitize step and settles every
# cell against the gradebook (unknown ones become plain cells, relabelled known ones are put back).
from course.grading.hygiene import with_hygiene  # noqa: E402

c.Autograde.sanitize_preprocessors = with_hygiene(c)
