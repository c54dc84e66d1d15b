"""The pure domain: cards, variants, answers, verdicts, scheduling policy.

Imports no Textual, no SQLAlchemy and no ML framework; takes `now` and seeds
from its callers instead of reading the clock or a global RNG.
"""
