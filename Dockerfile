# The one Forager service image: the API, every Celery worker, beat, Flower and the
# migration step all run from it with different commands (see docker-compose.yml and
# deploy/k8s/). It holds no Docker engine or CLI: the Python Docker SDK talks to the engine
# named by DOCKER_HOST (the host socket in Compose, a Docker-in-Docker sidecar on Kubernetes).
#
#   docker build -t forager:0.1.0 .
#   docker build --build-arg BASE_IMAGE=forager/base:bookworm -t forager:0.1.0 .   # no registry
#
# Any Debian bookworm image with Python 3.11 works as the base: the official slim image
# (default), or the registry-free one that `forager images bootstrap bookworm` imports. Only
# `python3` and Debian's tools are assumed, never `python` or a preinstalled pip.

ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# build: a virtual environment with the project and its pinned dependencies
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Site CA certificates (e.g. a TLS-intercepting egress): trusted before anything downloads.
COPY deploy/docker/ca-certificates/ /usr/local/share/ca-certificates/forager/
# Debian's own python3 (the registry-free base) needs python3-venv for `-m venv`; the official
# image has ensurepip built in and skips the package.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && if ! python3 -c "import ensurepip" 2>/dev/null; then \
        apt-get install -y --no-install-recommends python3-venv; \
    fi \
    && update-ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt

# A venv, not the system interpreter: Debian's Python refuses system-wide installs (PEP 668).
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, read from pyproject.toml alone, so that editing the source does not
# reinstall them: this layer is rebuilt only when the pins change.
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# Deployment-only tools (Flower).
COPY deploy/docker/requirements.txt /tmp/deploy-requirements.txt
RUN pip install -r /tmp/deploy-requirements.txt

# The project itself, non-editable: the image carries no source tree.
COPY README.md ./
COPY forager ./forager
COPY images ./images
COPY workers ./workers
COPY api ./api
COPY model ./model
RUN pip install --no-deps . && pip check

# ---------------------------------------------------------------------------------------------
# runtime: the venv on a clean base, an init, git, and an unprivileged user
# ---------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="forager" \
      org.opencontainers.image.description="Forager service: API, Celery workers and beat" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY deploy/docker/ca-certificates/ /usr/local/share/ca-certificates/forager/
# git: ingest clones repositories (GitPython shells out to it).
# tini: PID 1 that forwards signals and reaps the git processes workers leave behind.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git tini \
    && update-ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can check it and fsGroup can match it.
RUN groupadd --system --gid 10001 forager \
    && useradd --system --uid 10001 --gid 10001 --home-dir /home/forager --create-home \
        --shell /usr/sbin/nologin forager \
    && mkdir -p /data \
    && chown 10001:10001 /data

COPY --from=build /opt/venv /opt/venv

# SSL_CERT_FILE / REQUESTS_CA_BUNDLE: httpx and requests (the Docker SDK) use the system
# bundle, which includes the site certificates above, instead of certifi's copy.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    FORAGER_DATA_DIR=/data

# /data (FORAGER_DATA_DIR) is mounted by the deployment: a named volume in Compose starts with
# the ownership set above; on Kubernetes the pod's fsGroup makes the PVC writable. No VOLUME
# line: it would give one-shot containers (migrate) stray anonymous volumes.
WORKDIR /home/forager
USER 10001:10001
EXPOSE 8000

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["uvicorn", "api.app:app", "--host", "0.0.0.0", "--port", "8000"]
