"""Start the test OpenID Connect provider: migrate its own SQLite file, create the client and the
people given in the environment, then serve on 127.0.0.1:PORT until killed.

Environment: OIDC_PROVIDER_DB, OIDC_PROVIDER_KEY (an RSA private key file), OIDC_CLIENT_ID,
OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (space-separated), OIDC_PROVIDER_PEOPLE (JSON list of
[username, email, password, first name, last name]), OIDC_PROVIDER_ROLES (JSON {username: role}).
"""

from __future__ import annotations

import json
import os
import sys


def main(port: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    for username, email, password, first, last in json.loads(os.environ["OIDC_PROVIDER_PEOPLE"]):
        user, _ = User.objects.get_or_create(username=username)
        user.email, user.first_name, user.last_name = email, first, last
        user.set_password(password)
        user.save()
    Application.objects.update_or_create(
        client_id=os.environ["OIDC_CLIENT_ID"],
        defaults={
            "name": "Supportdesk",
            "client_secret": os.environ["OIDC_CLIENT_SECRET"],
            "hash_client_secret": True,
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": os.environ["OIDC_REDIRECT_URIS"],
            "post_logout_redirect_uris": os.environ.get("OIDC_POST_LOGOUT_URIS", ""),
            "algorithm": Application.RS256_ALGORITHM,
            "skip_authorization": True,
        },
    )
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    run("127.0.0.1", port, get_wsgi_application(), threading=True, server_cls=WSGIServer)


if __name__ == "__main__":
    main(int(sys.argv[1]))
