"""Helpers shared by the test suites: test modules import these, never each other nor a conftest.

- `servers`: daphne, Celery workers, Redis control, the test Dovecot (ROOT, free_port, ...).
- `browser`: logging in, the agent's console, a visitor's chat on the demo shop, axe-core.
- `smtp`: the SMTP sink (`SmtpSink`); `mail`: draining the outbox to a marker.
- `chat`: the websocket client, widget sessions and the visitor and agent sockets.
- `inbound`: a customer's email and the signed inbound webhook (also on a live server).
- `grants`: a grant through the service, an order to grant on, the core values.
- `csat`: the survey link in an email.
- `reliability`: waiting, running calls at once, a slow shop and SMTP sink, Postgres control.
"""
