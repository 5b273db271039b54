# Instructors: the course lives in ~/<COURSE_DIR> (a copy of this repository, or at least its
# nbgrader_config.py and source/); its own nbgrader_config.py is loaded from there.
import os

c = get_config()  # noqa: F821 - provided by traitlets

root = os.path.join(os.path.expanduser("~"), os.environ.get("COURSE_DIR") or os.environ["COURSE_ID"])
c.CourseDirectory.root = root
load_subconfig(os.path.join(root, "nbgrader_config.py"))  # noqa: F821 - provided by traitlets

# Collect takes each submission only from the Unix account it names, copies regular files only (no links,
# devices or FIFOs), within size caps, and reports what it refused or skipped in
# ~/<COURSE_DIR>/autograded/.collect/<session>.jsonl (course/exchange.py). Set after the course's config, so
# the class always gets it; its caps are VerifiedCollect traits (max_submission_bytes, max_file_bytes, ...).
c.ExchangeFactory.collect = "course.exchange.VerifiedCollect"
