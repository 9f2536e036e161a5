"""`python -m bot` is the same as the `chipwire` command."""

import sys

from bot.cli import main

sys.exit(main())
