"""docker-compose.yml cannot run here (no Docker engine), so check it agrees with the code and the local script."""

import re
from pathlib import Path

import yaml

from forewarn.engine.config import Config, load

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _published(service: str) -> list[tuple[str, int, int]]:
    """(host address, host port, container port) of each port a service publishes."""
    out = []
    for mapping in SERVICES[service].get("ports", []):
        parts = str(mapping).split(":")
        address = parts[0] if len(parts) == 3 else "0.0.0.0"  # Docker's default: every interface
        out.append((address, int(parts[-2]), int(parts[-1])))
    return out


def _host_port(service: str, container_port: int) -> int:
    for _address, host, inner in _published(service):
        if inner == container_port:
            return host
    raise AssertionError(f"{service} does not publish {container_port}")


def test_nothing_is_published_beyond_this_machine():
    published = {(name, *p) for name in SERVICES for p in _published(name)}
    assert {name for name, *_ in published} == {"kafka", "redis", "prometheus", "grafana", "engine"}
    assert {address for _name, address, _h, _c in published} == {"127.0.0.1"}, published


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
    # Bound to the engine's own address on the compose network, not to every interface.
    assert cfg.metrics.port == 9108 and cfg.metrics.host == "engine"
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
