# syntax=docker/dockerfile:1.7
# One image for the four services. The command picks the service:
#   python -m services.intake | services.triage | services.routing | services.notify
# and `python -m services.common.topics_admin` creates the topics (one-shot).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Numeric ids so Kubernetes' runAsNonRoot can verify the user without a passwd lookup.
RUN groupadd --system --gid 10001 spine \
 && useradd --system --uid 10001 --gid spine --no-create-home --home-dir /app \
      --shell /usr/sbin/nologin spine

# Pinned dependencies in their own layer: rebuilt only when the lock changes.
COPY requirements.lock /tmp/requirements.lock
RUN pip install -r /tmp/requirements.lock && rm /tmp/requirements.lock

# The project itself, installed into site-packages; the source tree is not kept, so nothing
# at run time depends on a checkout (settings.REPO_ROOT paths are overridden below).
WORKDIR /tmp/build
COPY pyproject.toml ./
COPY schemas ./schemas
COPY services ./services
RUN pip install --no-deps . && rm -rf /tmp/build

# Docker HEALTHCHECK: 200 from /health/ready (able to work now) on the given port, or on whichever service port
# (SERVICE_PORTS, honouring <NAME>_PORT) this container serves.
COPY --chmod=0755 <<'PY' /usr/local/bin/spine-healthcheck
#!/usr/bin/env python3
"""Exit 0 when this container's service answers 200 on GET /health/ready."""
import sys
import urllib.request

from services.common.settings import SERVICE_PORTS, http_port

ports = [int(arg) for arg in sys.argv[1:]] or [http_port(name) for name in SERVICE_PORTS]
for port in ports:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=4) as resp:
            if resp.status == 200:
                sys.exit(0)
    except OSError:  # refused (not this service), 503 (not ready) or timeout
        continue
sys.exit(1)
PY

# /var/lib/spine holds faust's local table caches; state itself lives in Kafka.
RUN install -d -o spine -g spine /app /var/lib/spine
WORKDIR /app
# Listen on every interface (the code's default is loopback, right for a laptop only).
ENV HTTP_HOST=0.0.0.0 \
    SPINE_DATA_DIR=/var/lib/spine

USER 10001:10001
EXPOSE 8001 8002 8003 8004
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["spine-healthcheck"]
# No default service: compose and Kubernetes name one, e.g. python -m services.triage.
CMD ["python", "-c", "raise SystemExit('choose a service: python -m services.<intake|triage|routing|notify>')"]
