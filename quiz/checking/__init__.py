"""`quiz deck check`: run every card of some decks, flag broken ones, and notice truths that changed.

`quiz.checking.check` runs the cards through a runner pool and hypothesis;
`quiz.checking.records` keeps, per (card, seed), the truth each check saw and
the framework versions it saw it on, so a later check on other versions can
name the cards whose truth changed (the stale-card report).
"""
