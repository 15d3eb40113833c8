"""`python -m shebao`."""

import sys

from shebao.cli import main

sys.exit(main())
