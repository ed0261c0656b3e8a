"""Helpers shared by the test suites: test modules import these, never each other.

- `chat`: the websocket client, widget sessions and the visitor and agent sockets.
- `inbound`: a customer's email and the signed inbound webhook.
- `grants`: a grant through the service, an order to grant on, the core values.
- `csat`: the survey link in an email.
- `reliability`: waiting, running calls at once, a slow shop and SMTP sink, Postgres control.
"""
