"""One module per command (or command group); each has `register(sub, groups)`.

Shared helpers for commands live in `quiz.commands.common`.
"""
