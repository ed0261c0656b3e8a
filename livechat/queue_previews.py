"""A waiting chat's new lines reach the agents' queue as previews, batched per event loop.

Every visitor line in a waiting chat updates the queue entry that every online agent's console
shows (the line's first characters under the visitor's name). Sent one by one, that is one more
Redis message, one more decode and dispatch on every process and one more frame per console for
each line: a third of the CPU a waiting chat's line costs on the socket path. Batched, a
process publishes what changed in the last PREVIEW_DELAY_SECONDS as one `queue.batch` frame
(the newest line of each chat only): one message per process and one frame per console for the
batch. The line itself still goes out at once; a console sees the preview a tenth of a second
later.

The batch is flushed from the event loop that queued it (a daphne process's loop). A preview
can arrive after a newer state of its chat that another process published at once (an agent
joined): the frame carries the chat's last_seq, and the console ignores a preview older than
what it has seen (static/livechat/console.js, onQueue).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

from core.realtime import asend_event
from livechat import events

log = logging.getLogger(__name__)

PREVIEW_DELAY_SECONDS = 0.1


class _Batch:
    def __init__(self) -> None:
        # conversation id -> builder of its newest queue frame (built at flush time, once)
        self.pending: dict[int, Callable[[], events.QueueFrame]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.publishing: set[asyncio.Task[None]] = set()


_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batch] = weakref.WeakKeyDictionary()


def queue_preview(conversation_id: int, frame: Callable[[], events.QueueFrame]) -> None:
    """Send the queue frame that `frame()` builds with the next batch of this event loop; a
    newer preview of the same chat before then replaces it."""
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        batch = _batches[loop] = _Batch()
    batch.pending.pop(conversation_id, None)  # the newest line goes last, in arrival order
    batch.pending[conversation_id] = frame
    if batch.timer is None:
        batch.timer = loop.call_later(PREVIEW_DELAY_SECONDS, _flush, loop, batch)


async def flush() -> None:
    """Publish this event loop's pending previews now, and wait until every batch is out (before
    the loop closes: a loop that ends with previews pending drops them)."""
    loop = asyncio.get_running_loop()
    batch = _batches.get(loop)
    if batch is None:
        return
    if batch.pending:
        _flush(loop, batch)
    if batch.publishing:
        await asyncio.wait(set(batch.publishing))


def _flush(loop: asyncio.AbstractEventLoop, batch: _Batch) -> None:
    if batch.timer is not None:
        batch.timer.cancel()
    pending, batch.pending, batch.timer = batch.pending, {}, None
    try:
        frames = [build() for build in pending.values()]
    except Exception:
        log.exception("Could not build %d queue previews", len(pending))
        return
    event = events.group_event(events.queue_batch_frame(frames))
    task = loop.create_task(asend_event(events.QUEUE_GROUP, event))
    batch.publishing.add(task)  # held until done: the loop keeps only a weak reference
    task.add_done_callback(batch.publishing.discard)
