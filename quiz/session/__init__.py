"""The study layer: what the TUI, the exam and the command line share (grading first; more to come)."""
