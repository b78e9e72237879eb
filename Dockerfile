FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app
WORKDIR /app

# pyproject.toml declares no packages: `pip install .` installs the pinned dependencies only (a cached layer);
# the code runs from /app.
COPY pyproject.toml ./
RUN pip install .
COPY . .
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin console \
    && mkdir -p /app/staticfiles /app/var \
    && chown -R console:console /app/staticfiles /app/var

USER console
EXPOSE 8000
CMD ["gunicorn", "console.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--no-control-socket"]
