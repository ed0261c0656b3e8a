"""The wall in Chromium: celebrate swaps the live count in place (htmx), once per person."""

from __future__ import annotations

from tests.helpers.browser import login
from tests.helpers.grants import make_grant
from wow_credits import services
from wow_credits.models import Celebration


def test_celebrate_on_the_wall_updates_the_count_in_place(cast, order, live_server, page):
    grant = make_grant("overnight_reship", by=cast.alice, order=order)
    story = services.nominate_story(
        by=cast.alice, title="The best man's shoes", story="Overnight.", grant_ids=[grant.pk]
    )
    services.celebrate(story, by=cast.bob)
    login(page, live_server, "carol@example.com", cast.password)
    page.goto(f"{live_server.url}/wall/")
    card = page.locator(f"#story-{story.pk}")
    assert card.locator("[data-celebrations]").inner_text() == "1"
    url_before = page.url
    card.get_by_role("button", name="Celebrate").click()
    page.wait_for_selector(f"#story-{story.pk} button[disabled]")
    assert card.locator("[data-celebrations]").inner_text() == "2"
    assert page.url == url_before  # swapped in place, no reload
    page.reload()
    assert card.locator("button").is_disabled()
    assert Celebration.objects.filter(story=story).count() == 2
