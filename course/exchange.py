"""nbgrader's file exchange, with submissions that other students cannot open.

nbgrader's own submit leaves each submission folder in ``<exchange>/<course>/inbound/`` world-readable
and world-writable (mode 777); only the folder's name hides it (the inbound folder cannot be listed, and
the name ends in random characters). A student who learns the name can read, or change, another
student's work.

:class:`PrivateSubmit` closes that: after nbgrader's submit it sets the submission folder to 770. The
folder belongs to the student and, as ``inbound/`` is set-group-ID, to the instructor's group, so the
student and the instructors get in and nobody else does. Enable it for every user of a class::

    c.ExchangeFactory.submit = "course.exchange.PrivateSubmit"

(``hub/jupyter/common/nbgrader_config.py`` does.) When the folder did not get the instructor's group
(an inbound folder without set-group-ID), making it private would lock the instructor out too, so the
submission is left as nbgrader made it and the log says why.
"""

from __future__ import annotations

import os
import stat

from nbgrader.exchange.default.submit import ExchangeSubmit

__all__ = ["PrivateSubmit", "PRIVATE_MODE"]

#: The submission folder: the student and the instructors' group read and write, others nothing.
PRIVATE_MODE = 0o770


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit`` whose submission folder only its student and the instructors can open."""

    def copy_files(self) -> None:
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        inbound_group = os.stat(self.inbound_path).st_gid
        if os.stat(submission).st_gid != inbound_group:
            self.log.warning("Submission %s is not in the instructors' group (is %s set-group-ID?); "
                             "leaving nbgrader's permissions", submission, self.inbound_path)
            return
        os.chmod(submission, PRIVATE_MODE)
        self.log.info("Submission folder is private to you and the instructors (mode %s)",
                      stat.filemode(stat.S_IFDIR | PRIVATE_MODE))
