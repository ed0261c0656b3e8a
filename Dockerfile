# The production image: one image for web (daphne), worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY supportdesk ./supportdesk
COPY accounts ./accounts
COPY customers ./customers
COPY mailer ./mailer
COPY tickets ./tickets
COPY livechat ./livechat
COPY wow_credits ./wow_credits
RUN pip install .
COPY . .
# Spanish and German: compile the committed .po catalogues (msgfmt from gettext, build time only).
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
    && SECRET_KEY=build REDIS_URL=redis://unused DATABASE_URL=postgres://unused/unused \
       SUPPORTDESK_INBOUND_SECRET=build SUPPORTDESK_WIDGET_SECRET=build \
       python manage.py compilemessages \
    && apt-get purge -y gettext && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
RUN SECRET_KEY=build REDIS_URL=redis://unused DATABASE_URL=postgres://unused/unused \
    SUPPORTDESK_INBOUND_SECRET=build SUPPORTDESK_WIDGET_SECRET=build \
    python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 supportdesk && mkdir -p /app/var/media && chown -R supportdesk /app/var
USER supportdesk
EXPOSE 8000
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000"]
