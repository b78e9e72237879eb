FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app
WORKDIR /app

# bubblewrap: the commands worker runs each command in a sandbox where the host allows it.
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap && rm -rf /var/lib/apt/lists/*
# pyproject.toml declares no packages: `pip install .` installs the pinned dependencies only (a cached layer);
# the code runs from /app.
COPY pyproject.toml ./
RUN pip install .
COPY . .
# console runs the web, workers and beat; console-commands runs runbook commands (the commands worker, root
# in its own container, starts each one as that user) and can read nothing of the console's.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin console \
    && useradd --system --uid 10002 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
       console-commands \
    && mkdir -p /app/staticfiles /app/var \
    && chown -R console:console /app/staticfiles /app/var

USER console
EXPOSE 8000
CMD ["gunicorn", "console.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--no-control-socket"]
