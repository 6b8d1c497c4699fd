# syntax=docker/dockerfile:1
# Live Control Room: Node builds the consoles, a slim Python image runs the app as non-root.

# --- 1. Python dependencies (also used to export the OpenAPI schema for the frontend) ---
FROM python:3.11-slim AS pydeps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /venv
COPY requirements.lock ./
RUN /venv/bin/pip install -r requirements.lock
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY alembic ./alembic
RUN /venv/bin/pip install --no-deps . \
 && /venv/bin/python -c "import json; from app.main import create_app; print(json.dumps(create_app().openapi()))" > /src/openapi.json

# --- 2. Frontend build ---
FROM node:20-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend ./
COPY --from=pydeps /src/openapi.json ./src/api/openapi.json
ENV OPENAPI_JSON=src/api/openapi.json
RUN npm run build

# --- 3. Runtime ---
FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/venv/bin:$PATH \
    HOST=0.0.0.0 PORT=8000 STATIC_DIR=/app/frontend/dist DATA_DIR=/app/data
RUN useradd --create-home --uid 10001 controlroom
WORKDIR /app
COPY --from=pydeps /venv /venv
COPY --chown=controlroom:controlroom alembic.ini ./
COPY --chown=controlroom:controlroom alembic ./alembic
COPY --chown=controlroom:controlroom app ./app
COPY --from=frontend --chown=controlroom:controlroom /src/frontend/dist ./frontend/dist
RUN mkdir -p /app/data && chown controlroom:controlroom /app/data
USER controlroom
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"
CMD ["controlroom", "serve"]
