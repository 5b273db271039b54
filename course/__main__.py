"""``python -m course``: the course's command line (see ``--help``)."""

import sys

from .cli import main

sys.exit(main())
