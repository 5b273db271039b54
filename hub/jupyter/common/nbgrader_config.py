# Every user of the class: which course, where the exchange is, private submissions, a verified collect.
# COURSE_ID and COURSE_EXCHANGE come from hub/jupyterhub_config.py (Spawner.environment).
import os

c = get_config()  # noqa: F821 - provided by traitlets

c.CourseDirectory.course_id = os.environ["COURSE_ID"]
c.Exchange.root = os.environ["COURSE_EXCHANGE"]
# A submission folder only its student and the instructors can open (nbgrader's own is mode 777).
c.ExchangeFactory.submit = "course.exchange.PrivateSubmit"
# Collect takes each submission only from the Unix account it names, and regular files only (nbgrader's own
# believes the folder's name and follows links). Set here too, so that an instructor whose course
# configuration fails to load still collects safely; hub/jupyter/instructor/nbgrader_config.py sets it again
# after the course's own configuration.
c.ExchangeFactory.collect = "course.exchange.VerifiedCollect"
