from __future__ import annotations

import json
import os

from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Email, name and the role claim; a person's role comes from OIDC_PROVIDER_ROLES (JSON)."""

    oidc_claim_scope = None  # every claim for every scope: a test provider

    def get_additional_claims(self, request):  # type: ignore[no-untyped-def]
        user = request.user
        roles = json.loads(os.environ.get("OIDC_PROVIDER_ROLES", "{}"))
        return {
            "email": user.email,
            "email_verified": True,
            "name": f"{user.first_name} {user.last_name}".strip(),
            "supportdesk_role": roles.get(user.username, "agent"),
        }
