# syntax=docker/dockerfile:1
# One image for every CRM process: `crm serve <name>`, `crm migrate <name>`,
# `crm dead-letters ...` (see deploy/README.md).
#
#   docker build -t crm:dev .
#
# Pin the base image by digest in CI (python:3.11-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# ------------------------------------------------------------ docs assets ---
# The renderers of /docs (Swagger UI) and /docs/events (the AsyncAPI React component), from their
# pinned npm packages (no install scripts run: swagger-ui-dist would report to its telemetry): the gateway
# serves them itself, the image needs no node.
FROM ${NODE_IMAGE} AS docs-assets
WORKDIR /src/gateway/static
COPY gateway/static/assets/package.json gateway/static/assets/package-lock.json gateway/static/assets/vendor.sh assets/
RUN sh assets/vendor.sh

# ---------------------------------------------------------------- builder ---
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Compilers only in this stage, for any locked dependency without a wheel.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first: this layer is reused until requirements.lock changes.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock
# Then the project itself (a regular, non-editable install into the venv).
COPY pyproject.toml ./
COPY crm_kit/ crm_kit/
COPY services/ services/
COPY gateway/ gateway/
COPY --from=docs-assets /src/gateway/static/vendor/ gateway/static/vendor/
RUN pip install --no-deps . \
 && python -m compileall -q /opt/venv \
 && crm --help >/dev/null

# ---------------------------------------------------------------- runtime ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="crm-platform" \
      org.opencontainers.image.description="CRM platform: nameko services and HTTP gateway" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    CRM_VAR_DIR=/tmp/crm
RUN groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin crm
# Owned by root and read-only for uid 10001: nothing is written in the image
# at run time (the pods mount an emptyDir on /tmp).
COPY --from=builder /opt/venv /opt/venv
WORKDIR /tmp
USER 10001:10001
# gateway HTTP API / services' metrics+health port
EXPOSE 8000 9100
ENTRYPOINT ["crm"]
CMD ["--help"]
