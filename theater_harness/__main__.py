"""``python -m theater_harness`` is the ``theater-harness`` command."""

import sys

from .cli import main

sys.exit(main())
