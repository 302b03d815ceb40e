"""Where the tests find the project and the shared material laid beside it (``../shared``).

``MILKBOT_SHARED_DIR`` points elsewhere when the checkout does not sit next to ``shared/``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MILKBOT_SHARED_DIR", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
SPECS = SHARED / "specs"
