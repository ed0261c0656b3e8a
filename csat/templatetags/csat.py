from __future__ import annotations

from typing import Any

from django import template

from csat import services

register = template.Library()


@register.inclusion_tag("csat/partials/agent_summary.html")
def csat_agent_summary(user: Any) -> dict[str, Any]:
    """{% load csat %}{% csat_agent_summary person %}: the CSAT block of an agent's page."""
    return {"csat_summary": services.summary_for_agent(user)}


@register.inclusion_tag("csat/partials/ticket_csat.html", takes_context=True)
def csat_for_ticket(context: template.Context, ticket: Any) -> dict[str, Any]:
    """{% load csat %}{% csat_for_ticket ticket %}: the ticket sidebar's CSAT card."""
    from csat.models import Survey

    survey = Survey.objects.filter(ticket_id=ticket.pk).first()
    return {
        "ticket": ticket,
        "survey": survey,
        "changeable_until": services.changeable_until(survey) if survey else None,
        "csrf_token": context.get("csrf_token"),
    }
