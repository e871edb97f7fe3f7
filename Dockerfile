# One image for every component of the 安责险 platform (gateway, policy, claims, prevention,
# monitoring) and their one-shot jobs (migrations, JWT keys, API clients). The command picks the
# component, e.g.
#   docker run IMAGE uvicorn services.policy.app:create_app --factory --host 0.0.0.0 --port 8001
#   docker run IMAGE python -m kernel.migrate policy

# ---- build: install the project and its dependencies into a virtualenv ----------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from pyproject.toml alone with empty package stubs, so that a code change
# does not reinstall them (this layer is rebuilt only when pyproject.toml changes).
COPY pyproject.toml README.md ./
RUN for pkg in contracts kernel gateway services devstack; do mkdir -p "$pkg" && touch "$pkg/__init__.py"; done \
 && pip install . \
 && pip uninstall -y anzexian-platform \
 && rm -rf contracts kernel gateway services devstack build *.egg-info

# Then the code itself (.dockerignore keeps tests, deploy files and local state out).
COPY contracts ./contracts
COPY kernel ./kernel
COPY gateway ./gateway
COPY services ./services
COPY devstack ./devstack
RUN pip install --no-deps . \
 && python -c "import contracts, kernel, gateway, services, kernel.migrate"

# ---- runtime: the virtualenv only, run by an unprivileged user ------------------------------
FROM python:3.11-slim

LABEL org.opencontainers.image.title="anzexian-platform" \
      org.opencontainers.image.description="安责险 platform: gateway, policy, claims, prevention and monitoring services"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# uid/gid 10001: numeric so that Kubernetes runAsNonRoot can verify it. /keys belongs to that
# user so a fresh named volume mounted there (compose `keys` service) is writable by it.
RUN groupadd --system --gid 10001 anzexian \
 && useradd --system --uid 10001 --gid anzexian --home-dir /app --no-create-home --shell /usr/sbin/nologin anzexian \
 && mkdir -p /app /keys \
 && chown anzexian:anzexian /app /keys

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

EXPOSE 8000 8001 8002 8003 8004

# Default: the gateway. Every other component sets its own command.
CMD ["uvicorn", "gateway.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
