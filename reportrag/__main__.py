"""``python -m reportrag`` is the ``reportrag`` command."""

import sys

from reportrag.skins.cli import main

sys.exit(main())
