"""A learner's review history made the real way: FSRS schedules, the store records, a simulated memory answers.

The simulated learner forgets faster than fsrs's default weights assume (their true memory follows
other weights), so fitting FSRS to the history has something to find.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any


# A learner whose memory is weaker than fsrs's defaults: first stabilities a quarter as long.
def true_weights() -> tuple[float, ...]:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    w = list(DEFAULT_PARAMETERS)
    w[0:4] = [x / 4 for x in w[0:4]]
    return tuple(w)


def simulate_history(
    store: Any,
    profile: str,
    *,
    start: datetime,
    cards: int = 80,
    new_per_day: int = 10,
    days: int = 150,
    seed: int = 1,
) -> int:
    """Study `cards` cards for `days` days through quiz's scheduler and store. Returns the reviews made."""
    from fsrs import Card as FsrsCard
    from fsrs import Rating, Scheduler

    from quiz.core.scheduling import Memory, make_scheduler, review
    from quiz.store import repo
    from tests.factories import review_input

    rng = random.Random(seed)
    scheduler = make_scheduler()
    truth = Scheduler(parameters=true_weights(), enable_fuzzing=False)
    uids = [f"sim/card-{i}" for i in range(cards)]
    true_cards = {uid: FsrsCard(card_id=i + 1, due=start) for i, uid in enumerate(uids)}
    made = 0
    memories = {uid: Memory() for uid in uids}
    with store.session() as s:
        repo.sync_cards(s, profile, [(u, "sim") for u in uids])
        for day in range(days):
            now = start + timedelta(days=day, hours=9)
            introduced = 0
            for uid in uids:
                memory = memories[uid]
                if memory.state == 0:
                    if introduced >= new_per_day:
                        continue
                    introduced += 1
                    when = now
                elif memory.due is not None and memory.due <= now + timedelta(hours=12):
                    when = max(now, memory.due)
                else:
                    continue
                # A learning card comes back within the day: answer it until it leaves for another day.
                while True:
                    true_card = true_cards[uid]
                    p = truth.get_card_retrievability(true_card, when) if true_card.last_review else 0.0
                    if memory.state == 0:
                        rating = rng.choices([1, 2, 3, 4], weights=[3, 2, 10, 2])[0]
                    elif rng.random() < p:
                        rating = rng.choices([2, 3, 4], weights=[2, 12, 1])[0]
                    else:
                        rating = 1
                    after = review(memory, rating, when, scheduler)
                    repo.record_review(
                        s,
                        profile,
                        review_input(
                            uid,
                            when=when,
                            rating=rating,
                            correct=rating > 1,
                            response_ms=rng.randint(2000, 9000),
                        ),
                        memory,
                        after,
                    )
                    made += 1
                    true_cards[uid], _ = truth.review_card(true_card, Rating(rating), review_datetime=when)
                    memory = memories[uid] = after
                    if after.due is None or after.due > now + timedelta(hours=12):
                        break
                    when = max(when, after.due)
    return made
