"""``python -m modelport``: the same as the ``modelport`` command."""
import sys

from modelport.cli import main

sys.exit(main())
