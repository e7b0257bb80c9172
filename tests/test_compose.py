"""docker-compose.yml cannot run here (no Docker engine), so check it agrees with the code and the local script."""

import re
from pathlib import Path

import yaml

from forewarn.engine.config import Config, load

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _host_port(service: str, container_port: int) -> int:
    for mapping in SERVICES[service].get("ports", []):
        host, _, inner = str(mapping).rpartition(":")
        if int(inner) == container_port:
            return int(host)
    raise AssertionError(f"{service} does not publish {container_port}")


def test_every_service_the_brief_names_is_there():
    assert {"kafka", "redis", "prometheus", "grafana", "engine", "simulator"} <= set(SERVICES)


def test_published_ports_are_the_code_defaults():
    defaults = Config()
    assert _host_port("kafka", 9092) == int(defaults.kafka.bootstrap.rsplit(":", 1)[1])
    assert _host_port("redis", 6379) == int(defaults.redis.url.rsplit(":", 1)[1].split("/")[0])
    assert _host_port("engine", 9108) == defaults.metrics.port


def test_engine_config_is_valid_and_points_at_the_compose_services():
    cfg = load(REPO / "deploy/forewarn.compose.toml", env={})
    assert cfg.kafka.bootstrap == SERVICES["engine"]["environment"]["FOREWARN_KAFKA_BOOTSTRAP"] == "kafka:29092"
    assert "kafka:29092" in SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert cfg.redis.url == SERVICES["engine"]["environment"]["FOREWARN_REDIS_URL"]
    assert cfg.metrics.port == 9108 and cfg.metrics.host == "0.0.0.0"
    assert cfg.kafka.topics == Config().kafka.topics  # the simulator produces to the default topics


def test_prometheus_scrapes_the_engine_port():
    scrape = yaml.safe_load((REPO / "deploy/prometheus/prometheus.compose.yml").read_text())
    targets = [t for job in scrape["scrape_configs"] if job["job_name"] == "forewarn"
               for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == [f"engine:{Config().metrics.port}"]
    local = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    assert [t for job in local["scrape_configs"] if job["job_name"] == "forewarn"
            for sc in job["static_configs"] for t in sc["targets"]] == [f"127.0.0.1:{Config().metrics.port}"]


def test_image_versions_match_the_local_services_script():
    script = (REPO / "scripts/services.sh").read_text()
    kafka_version = re.search(r"^KAFKA_VERSION=(\S+)", script, re.M).group(1)
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{kafka_version}"
    assert SERVICES["redis"]["image"].startswith("redis:7.0")  # Debian 12 ships redis 7.0
    assert SERVICES["prometheus"]["image"].startswith("prom/prometheus:v2.42")  # Debian 12 ships 2.42
