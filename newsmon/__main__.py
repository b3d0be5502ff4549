"""`python -m newsmon`: the same command line as the `newsmon` script."""

from __future__ import annotations

import sys

from newsmon.app.cli import main

sys.exit(main())
