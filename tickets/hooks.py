"""Named hooks other apps subscribe to (in their AppConfig.ready()), fired by tickets' services
inside the transaction of the change, so a subscriber's rows (e.g. a webhook outbox) commit or
roll back with it. Django signals: `hook.connect(receiver)`; receivers get the keyword arguments.
"""

from __future__ import annotations

from django.dispatch import Signal

# ticket=Ticket
ticket_created = Signal()
# ticket=Ticket, change=str ("updated", "spam", "not_spam", "merged", ...), by=User | None
ticket_updated = Signal()
# message=Message
message_created = Signal()
