# One image for web and worker. Build: docker compose build
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LOOKALIKE_HOME=/data
WORKDIR /app

# PyTorch first: the biggest layer, rebuilt only when the version changes.
ARG TORCH_VERSION=2.13.0
RUN pip install "torch==${TORCH_VERSION}"

COPY pyproject.toml README.md ./
COPY indexer ./indexer
COPY search ./search
COPY web ./web
# The `ops` extra brings Flower (the `flower` service of docker-compose.yml).
RUN pip install ".[ops]" && useradd --create-home --uid 1000 lookalike && mkdir -p /data \
    && chown lookalike /data
USER lookalike

EXPOSE 5000
CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "2", "--threads", "4", \
     "--timeout", "120", "web.wsgi:app"]
