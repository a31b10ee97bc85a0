"""`python -m bot` is the `gavel` command."""

import sys

from bot.cli import main

sys.exit(main())
