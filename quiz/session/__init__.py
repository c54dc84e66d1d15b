"""The study layer, shared by the TUI, the exam and the command line; no UI. One concept per module:

- `study`: the study session — next card and variant, grading, rating, bury, suspend, undo, siblings
- `grading`: an answer read once, run, judged (`grade_answer`)
- `undo`: what can be taken back, and taking it back
- `dashboards`: the queue's counts, next due, Home and statistics data
- `saved_settings`: the learner's settings kept in the database
- `prepared`: the prepared start (paint the first card at once) and the next one
- `exam`: an exam being taken
- `optimize`: FSRS weights fitted to the learner's history
- `compose`: the composition root that builds a study session from the settings
"""
