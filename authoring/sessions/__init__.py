"""One module per session; each exposes ``ID`` and ``cells()``. ``SESSIONS`` lists them in course order."""

from . import session1_chat

SESSIONS = {module.ID: module for module in (session1_chat,)}
