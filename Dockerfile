FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VALIDATOR_HOST=0.0.0.0 VALIDATOR_PORT=8080 \
    VALIDATOR_DATABASE_URL=sqlite:////var/lib/validator/validator.sqlite3

WORKDIR /app
COPY pyproject.toml README.md ./
COPY validator ./validator
RUN pip install --no-cache-dir . \
 && useradd --system --home /var/lib/validator --create-home validator

USER validator
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
CMD ["validator", "serve"]
