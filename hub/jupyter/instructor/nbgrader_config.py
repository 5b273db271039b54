# Instructors: the course lives in ~/<COURSE_DIR> (a copy of this repository, or at least its
# nbgrader_config.py and source/); its own nbgrader_config.py is loaded from there.
import os

c = get_config()  # noqa: F821 - provided by traitlets

root = os.path.join(os.path.expanduser("~"), os.environ.get("COURSE_DIR") or os.environ["COURSE_ID"])
c.CourseDirectory.root = root
load_subconfig(os.path.join(root, "nbgrader_config.py"))  # noqa: F821 - provided by traitlets
