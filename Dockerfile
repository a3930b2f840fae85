# The ledger service image: `psvs-ledger serve` by default (see docker-compose.yml).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    LEDGER_DATA_DIR=/var/lib/psvs-ledger \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 ledger
# The keys' directory (generated keys, mode 0600): a volume mounted here starts owned by `ledger`.
RUN mkdir -p /var/lib/psvs-ledger && chown ledger:ledger /var/lib/psvs-ledger && chmod 0700 /var/lib/psvs-ledger

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY projections ./projections
COPY api ./api
RUN pip install .

USER ledger
WORKDIR /home/ledger
EXPOSE 8000
CMD ["psvs-ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
