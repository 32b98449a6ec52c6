"""``python -m jpegsal``: the same as the ``jpegsal`` command."""

import sys

from .cli import main

sys.exit(main())
