"""Unit tests: hypothesis keeps its files (charmap cache, local constants) in a temp dir, not in the checkout.

Hypothesis fixes its storage directory the first time it needs one, which can
be while test modules are imported (before any fixture sets
HYPOTHESIS_STORAGE_DIRECTORY); without this it would write `.hypothesis/` into
the current directory.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", tempfile.mkdtemp(prefix="quiz-unit-hypothesis-"))
