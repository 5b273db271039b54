# Every user of the class: which course, where the exchange is, and private submissions.
# COURSE_ID and COURSE_EXCHANGE come from hub/jupyterhub_config.py (Spawner.environment).
import os

c = get_config()  # noqa: F821 - provided by traitlets

c.CourseDirectory.course_id = os.environ["COURSE_ID"]
c.Exchange.root = os.environ["COURSE_EXCHANGE"]
# A submission folder only its student and the instructors can open (nbgrader's own is mode 777).
c.ExchangeFactory.submit = "course.exchange.PrivateSubmit"
