"""The low floor every app uses: API errors, realtime publish, rate limits, the sweep and hook
registries, security headers and origin checks. It imports no app and nothing from `supportdesk/`
(the wiring floor); apps import it."""
