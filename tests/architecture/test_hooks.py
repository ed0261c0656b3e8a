"""The hook registry (core/hooks.py): how a low app tells the apps above it that something
happened, and how it asks them for what they own."""

from __future__ import annotations

import pytest

from core import hooks
from core.hooks import Hook, Lookup


def _happened(*, n: int) -> None:
    """A test hook's payload."""


def test_fire_calls_every_receiver_now_in_order_and_once_each():
    hook = Hook("test_happened", _happened)
    calls: list[str] = []

    def first(*, n: int) -> None:
        calls.append(f"first {n}")

    def second(*, n: int) -> None:
        calls.append(f"second {n}")

    hook.register(first)
    hook.register(second)
    hook.register(first)  # registering again (ready() run twice) changes nothing
    hook.fire(n=1)
    assert calls == ["first 1", "second 1"]


def test_a_failing_receiver_of_fire_fails_the_caller():
    hook = Hook("test_happened", _happened)

    def broken(*, n: int) -> None:
        raise RuntimeError("no")

    hook.register(broken)
    with pytest.raises(RuntimeError):
        hook.fire(n=1)


def test_fire_on_commit_waits_for_the_commit_and_a_failing_receiver_stops_nothing(
    db, django_capture_on_commit_callbacks
):
    hook = Hook("test_happened", _happened)
    calls: list[int] = []

    def broken(*, n: int) -> None:
        raise RuntimeError("no")

    def counting(*, n: int) -> None:
        calls.append(n)

    hook.register(broken)
    hook.register(counting)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        hook.fire_on_commit(n=7)
        assert calls == []
    assert len(callbacks) == 2
    assert calls == [7]


def _asked(*, n: int) -> str:
    """A test lookup's question."""
    return ""


def test_a_lookup_has_one_answer_and_none_without_one():
    lookup = Lookup("test_asked", _asked)
    assert lookup.ask(n=1) is None

    def answer(*, n: int) -> str:
        return f"answer {n}"

    lookup.register(answer)
    lookup.register(answer)
    assert lookup.ask(n=2) == "answer 2"

    def other(*, n: int) -> str:
        return "other"

    with pytest.raises(RuntimeError):
        lookup.register(other)


def test_the_apps_register_for_the_product_hooks():
    names = {
        hook.name: {f"{r.__module__}.{r.__qualname__}" for r in hook.receivers}
        for hook in (
            hooks.ticket_solved,
            hooks.chat_ended,
            hooks.customer_merged,
            hooks.agent_active,
            hooks.customer_wrote_in,
            hooks.ticket_created,
            hooks.ticket_updated,
            hooks.message_created,
            hooks.grant_changed,
            hooks.survey_rated,
            hooks.chat_waiting,
            hooks.chat_capacity_changed,
            hooks.chat_started,
            hooks.chat_ending,
            hooks.story_nominated,
        )
    }
    assert names == {
        "ticket_solved": {"csat.services.request_for_ticket_id"},
        "chat_ended": {"csat.services.request_for_chat_id", "livechat.routing.on_chat_ended"},
        "customer_merged": {
            "tickets.services.move_customer_tickets",
            "livechat.services.move_customer_chats",
            "wow_credits.services.move_customer_grants",
        },
        "agent_active": {"team.services.count_agent_activity"},
        "customer_wrote_in": {"hours.acknowledgements.customer_wrote_in"},
        "ticket_created": {"webhooks.subscriptions.on_ticket_created"},
        "ticket_updated": {"webhooks.subscriptions.on_ticket_updated"},
        "message_created": {"webhooks.subscriptions.on_message_created"},
        "grant_changed": {"webhooks.subscriptions.on_grant_changed"},
        "survey_rated": {"webhooks.subscriptions.on_survey_rated"},
        "chat_waiting": {"livechat.routing.on_chat_waiting"},
        "chat_capacity_changed": {"livechat.routing.on_capacity_changed"},
        "chat_started": {"webhooks.subscriptions.on_chat_started"},
        "chat_ending": {"webhooks.subscriptions.on_chat_ending"},
        "story_nominated": {"webhooks.subscriptions.on_story_nominated"},
    }
    for lookup in (
        hooks.ticket_csat,
        hooks.chat_csat,
        hooks.ticket_care,
        hooks.next_business_morning,
    ):
        assert "unanswered" not in repr(lookup)


def test_domain_events_go_through_core_hooks_not_django_signals():
    """One mechanism for cross-app reactions: no app declares its own Django Signal."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    packages = [
        p
        for p in root.iterdir()
        if (p / "__init__.py").exists() and p.name not in {"tests", "bench"}
    ]
    declared = []
    for path in (path for package in packages for path in package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) == "Signal"
            ):
                declared.append(f"{path.relative_to(root)}:{node.lineno}")
    assert declared == [], "declare a core.hooks.Hook instead of a Signal"
