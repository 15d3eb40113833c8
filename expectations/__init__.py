"""Great Expectations 1.x suites for the raw landing tables (second line of defence).

GX would otherwise try to send usage analytics; the machines reach only PyPI, so
analytics are switched off before any module of this package imports GX.
"""

import os

os.environ["GX_ANALYTICS_ENABLED"] = "false"
