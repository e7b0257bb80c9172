# Image for the forewarn engine and simulator (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
RUN pip install .

EXPOSE 9108
CMD ["forewarn", "run", "--config", "/app/deploy/forewarn.compose.toml"]
