"""`python -m quiz`: the same as the `quiz` command."""

from quiz.cli import main

raise SystemExit(main())
