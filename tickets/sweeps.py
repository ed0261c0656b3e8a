from __future__ import annotations

from core.sweeps import register
from tickets import services

# One sweeper at a time converts every follow-up due (bounded; batches of FOLLOW_UP_BATCH, each
# committed and handed to delivery at once) while the others go straight on to sending mail. With a
# limit of 2,000 per sweep and every sweeper converting, both prefork children ran sweeps in step,
# each converting and then draining mail, so converting and sending took turns instead of
# overlapping (bench/followups.py timeline: no email sent for seconds at a time). Converting costs
# well under a millisecond per follow-up; sending waits on the relay, so it gets the other workers.
SWEEP_LIMIT = 20_000
SWEEP_SECONDS = 20.0


@register("follow_ups")
def send_follow_ups() -> int:
    with services.follow_up_converter() as mine:
        sent = 0
        if mine:  # else another sweeper is converting; this one sends (the mail sweep runs next)
            sent = services.send_due_follow_ups(limit=SWEEP_LIMIT, max_seconds=SWEEP_SECONDS)
    # Follow-ups due before the next tick go out at their instant, not up to an interval late
    # (every sweeper arms; the timer is deduplicated per instant).
    services.arm_follow_up_timer()
    return sent


@register("bulk_jobs")
def run_bulk_jobs() -> int:
    from tickets import bulk

    return bulk.work_open_jobs()
