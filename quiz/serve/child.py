"""The app process of one browser session: `python -m quiz.serve.child`, started only by the server.

Who the app is for comes from the server, in the QUIZ_SERVE_CHILD environment
variable (profile, database, device, limits), never from the browser: the
learner's keys reach the app, nothing else does. The device is pinned so the
Settings screen cannot lift the workers' memory limit, and the workers get
one thread each and a memory limit of their own, so that a class shares the
machine.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from quiz.serve.process import CHILD_ENV


def main() -> int:
    raw = os.environ.get(CHILD_ENV)
    if not raw:
        print("quiz.serve.child is started by `quiz serve`, not by hand", file=sys.stderr)
        return 2
    child = json.loads(raw)

    from quiz import paths

    paths.use_hypothesis_cache()
    from quiz.config import load_settings
    from quiz.runner.client import Runner
    from quiz.runner.limits import Limits
    from quiz.tui.app import QuizApp

    logging.basicConfig(
        filename=paths.log_dir() / "quiz.log",
        level=logging.INFO,
        format=f"%(asctime)s %(levelname)s %(name)s [serve {child['profile']}]: %(message)s",
    )
    settings = load_settings(db_url=child["db_url"], profile=child["profile"], device=child["device"])
    runner = Runner.for_settings(
        settings,
        log_dir=paths.log_dir(),
        limits=Limits(memory_mb=int(child["worker_memory_mb"])),
        idle_s=float(child["worker_idle_s"]),
        threads=int(child["threads"]),
    )
    app = QuizApp(settings, runner=runner)
    # The app closes the workers as it unmounts, which ends its threads that wait on one; asyncio
    # joins those threads before app.run() returns, so closing them after it would be too late.
    app.owns_runner = True
    try:
        result = app.run()
        return app.return_code or int(result or 0)  # 1 after an unexpected error, as `quiz` itself
    finally:
        runner.close()


if __name__ == "__main__":
    sys.exit(main())
