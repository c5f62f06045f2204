"""``python -m vidwatch`` runs the command line."""

import sys

from vidwatch.cli import main

sys.exit(main())
