# syntax=docker/dockerfile:1
#
# The reciprocal-borrowing patron identity hub, served by `hub serve` (uvicorn) on port 8000.
#
# Build:
#   docker build -t hub .
#
# Run (SQLite in the /data volume; HUB_SECRET_KEY is required and never baked into the image,
# make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'):
#   docker run -d --name hub \
#       -e HUB_SECRET_KEY=... -e HUB_ISSUER=http://localhost:8000 \
#       -p 8000:8000 -v hubdata:/data hub
#   curl http://localhost:8000/healthz
#
# PostgreSQL: apply the migrations first (and after every upgrade of the image), then serve:
#   docker run --rm -e HUB_DATABASE_URL=postgresql+psycopg://user:password@host/db hub hub db upgrade
#   docker run -d -e HUB_DATABASE_URL=postgresql+psycopg://user:password@host/db \
#       -e HUB_SECRET_KEY=... -e HUB_ISSUER=https://hub.example.org -p 8000:8000 hub
#
# Any other `hub` command runs the same way, e.g.
#   docker run --rm -v hubdata:/data -e HUB_SECRET_KEY=... hub hub keys rotate
# Other settings (HUB_TOKEN_LIFETIME_S, HUB_GUESSES_PER_CARD, ...): docs/operations.md.
# Behind a reverse proxy, set HUB_FORWARDED_ALLOW_IPS to the proxy's address so client addresses
# come from X-Forwarded-For (no forwarding header is believed otherwise).

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
# builder: install the hub and its locked dependencies (not the [dev] extra) into /opt/venv
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Every dependency ships manylinux wheels for CPython 3.11 (psycopg as psycopg[binary]); the hub's
# own decision index (policies/_index.pyx, with the .pxi files it includes) is compiled here by
# hatch_build.py, so this stage, and only this stage, has a C compiler: nothing of it reaches the
# final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

# Two virtual environments, each from its lock (requirements/, written by `make lock`), every
# file's hash checked and wheels only: /opt/build holds what builds the hub's wheel (hatchling,
# Cython, setuptools), /opt/venv the hub's dependencies, and becomes the image's.
RUN python -m venv /opt/build && python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN /opt/build/bin/pip install --require-hashes --only-binary :all: -r requirements/build.txt \
    && /opt/venv/bin/pip install --require-hashes --only-binary :all: -r requirements/runtime.txt

# Only what the wheel is built from (see .dockerignore); README.md is the project's readme.
COPY pyproject.toml README.md hatch_build.py ./
COPY policies ./policies
COPY identity ./identity

# The hub's wheel, built by /opt/build without build isolation (so nothing unpinned is fetched to
# build it), installed without dependencies (they are the lock's, installed above): policies/
# and identity/ with their package data (Alembic migrations, script.py.mako, the example
# agreements YAML) and the compiled index.
# pip compiles the bytecode here, as root, so that the read-only venv starts fast at runtime.
# pip check fails the build if the lock lacks a dependency of the hub. The venv's own pip and
# setuptools are removed afterwards: nothing needs them at runtime.
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
    && pip install --no-deps /tmp/wheels/hub-*.whl \
    && pip check \
    && pip uninstall --yes pip setuptools

# ---------------------------------------------------------------------------------------------
# runtime: the venv only, no compilers, no build tools, a non-root user
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="hub" \
      org.opencontainers.image.description="Reciprocal-borrowing patron identity hub: OpenID provider, policy engine, eligibility API" \
      org.opencontainers.image.licenses="MIT"

ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HUB_DATABASE_URL=sqlite:///./hub.db

# xmlsec1: the program pysaml2 runs to verify, sign and decrypt SAML documents (kind: saml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends xmlsec1 \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid hub --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin hub \
    && mkdir -p /data \
    && chown hub:hub /data \
    && chmod 0750 /data

COPY --from=builder /opt/venv /opt/venv

# The working directory is the data directory, so the default SQLite URL (sqlite:///./hub.db)
# puts hub.db (and its -wal/-shm files) in the volume. A new named volume inherits the ownership
# set above; a bind-mounted host directory must be writable by uid 10001. With PostgreSQL the
# volume simply stays empty.
WORKDIR /data
VOLUME ["/data"]

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 8000

# /healthz answers 200 while the process answers (it asks nothing of the database). No curl in
# slim: python.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# HUB_SECRET_KEY must come from the operator (-e, --env-file or a secret); the hub refuses to
# start without a real one. Arguments after the image name replace this command.
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
