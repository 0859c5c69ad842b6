"""``python -m legpress.cli``."""

import sys

from legpress.cli.main import main

sys.exit(main())
