#!/usr/bin/env bash
# Local services for forewarn development and tests, without Docker:
#   Kafka 4.1.1 (single KRaft broker+controller, jars from Maven Central),
#   Redis (Debian's redis-server) and Prometheus (Debian's prometheus).
#
# Usage: scripts/services.sh {start|stop|status|restart-kafka}
#   start          start what is not already answering on its port (idempotent)
#   stop           stop what this script started (by pidfile); leaves others alone
#   status         one line per service; exit 0 only if all are up
#   restart-kafka  stop and start only the broker, keeping its data
#
# Environment:
#   FOREWARN_CACHE         cache dir (jars, data, logs)   default: ~/.cache/forewarn
#   FOREWARN_JARS          Kafka jars dir                 default: $FOREWARN_CACHE/kafka-4.1.1/libs
#                          (point a second stack at the first one's jars: nothing to download)
#   FOREWARN_KAFKA_PORT    broker port                    default: 9092
#   FOREWARN_KAFKA_CONTROLLER_PORT  KRaft controller port default: kafka port + 1 (9093)
#   FOREWARN_REDIS_PORT    redis port                     default: 6379
#   FOREWARN_PROM_PORT     prometheus port                default: 9090
#   FOREWARN_METRICS_PORT  the engine's metrics port Prometheus scrapes (as `forewarn run` reads it)
#                          default: 9108
#   FOREWARN_KAFKA_HEAP    broker heap                    default: 512m
#   FOREWARN_START_TIMEOUT seconds to wait for each service  default: 120
#
# After start, $FOREWARN_CACHE/run/services.env holds the connection settings:
#   set -a; . ~/.cache/forewarn/run/services.env; set +a
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FOREWARN_CACHE:-$HOME/.cache/forewarn}"
RUN="$CACHE/run"
HOST=127.0.0.1

KAFKA_VERSION=4.1.1
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
KAFKA_LIBS="${FOREWARN_JARS:-$KAFKA_HOME/libs}"
KAFKA_PORT="${FOREWARN_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${FOREWARN_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP="${FOREWARN_KAFKA_HEAP:-512m}"
KAFKA_RUN="$RUN/kafka"
KAFKA_PIDFILE="$KAFKA_RUN/kafka.pid"
KAFKA_LOG="$KAFKA_RUN/logs/server.log"
KAFKA_STDOUT="$KAFKA_RUN/logs/stdout.log"

REDIS_PORT="${FOREWARN_REDIS_PORT:-6379}"
REDIS_RUN="$RUN/redis"
REDIS_PIDFILE="$REDIS_RUN/redis.pid"
REDIS_LOG="$REDIS_RUN/redis.log"

PROM_PORT="${FOREWARN_PROM_PORT:-9090}"
METRICS_PORT="${FOREWARN_METRICS_PORT:-9108}"
PROM_RUN="$RUN/prometheus"
# Written from deploy/prometheus/prometheus.yml with this stack's ports (prom_config).
PROM_CONFIG="$PROM_RUN/prometheus.yml"
PROM_PIDFILE="$PROM_RUN/prometheus.pid"
PROM_LOG="$PROM_RUN/prometheus.log"

TIMEOUT="${FOREWARN_START_TIMEOUT:-120}"

log() { echo "[services] $*"; }
die() { echo "[services] ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

port_open() { # port -> 0 if something accepts TCP connections on $HOST:port
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# pid from pidfile if that process is alive and its command line contains $2
pid_alive() { # pidfile pattern
  local pidfile="$1" pattern="$2" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern" || return 1
  echo "$pid"
}

stop_pid() { # name pidfile pattern grace_seconds port
  local name="$1" pidfile="$2" pattern="$3" grace="$4" port="$5" pid i
  if ! pid="$(pid_alive "$pidfile" "$pattern")"; then
    rm -f "$pidfile"
    if port_open "$port"; then
      log "$name: the one on $HOST:$port was not started by this script; leaving it running"
    else
      log "$name: not running"
    fi
    return 0
  fi
  log "$name: stopping (pid $pid)…"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still running after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
  log "$name: stopped"
}

APT_UPDATED=0
apt_install() { # packages...
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || die "missing $*; install them (apt-get install -y $*) or run this script as root"
    SUDO=sudo
  else
    SUDO=
  fi
  log "installing with apt-get: $*"
  if [[ $APT_UPDATED == 0 ]]; then
    $SUDO apt-get update -q >/dev/null || die "apt-get update failed; check the network / apt sources, then retry"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed; run it by hand to see why"
}

ensure_packages() { # what start needs from Debian
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v curl >/dev/null || missing+=(curl)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  if [[ ! -f "$KAFKA_LIBS/.complete" ]] && ! command -v mvn >/dev/null; then missing+=(maven); fi
  if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
}

write_env() {
  mkdir -p "$RUN"
  cat >"$RUN/services.env" <<EOF
FOREWARN_KAFKA_BOOTSTRAP=$HOST:$KAFKA_PORT
FOREWARN_REDIS_URL=redis://$HOST:$REDIS_PORT/0
FOREWARN_PROMETHEUS_URL=http://$HOST:$PROM_PORT
EOF
}

# ---------------------------------------------------------------- kafka

KAFKA_JAVA_TOOL_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC
  "-Dlog4j2.configurationFile=$REPO/deploy/kafka/log4j2-tools.properties")

kafka_tool() { # class args...
  java "${KAFKA_JAVA_TOOL_OPTS[@]}" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_fetch_jars() {
  local pom="$REPO/deploy/kafka/pom.xml" want
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$KAFKA_LIBS/.complete" && "$(cat "$KAFKA_LIBS/.complete")" == "$want" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || apt_install maven
  log "kafka: downloading jars from Maven Central (first time, ~1 min)…"
  local tmp="$KAFKA_LIBS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp" "$KAFKA_HOME"
  if ! mvn -B -q -f "$pom" dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime \
    >"$KAFKA_HOME/mvn.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 30 "$KAFKA_HOME/mvn.log" >&2 || true
    die "kafka: Maven could not fetch the jars (log: $KAFKA_HOME/mvn.log); check access to Maven Central, then rerun 'scripts/services.sh start'"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka: kafka_2.13-$KAFKA_VERSION.jar missing after download (see $KAFKA_HOME/mvn.log)"
  echo "$want" >"$tmp/.complete"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  log "kafka: $(ls "$KAFKA_LIBS"/*.jar | wc -l) jars in $KAFKA_LIBS"
}

kafka_write_config() {
  mkdir -p "$KAFKA_RUN/data" "$KAFKA_RUN/logs"
  cat >"$KAFKA_RUN/server.properties" <<EOF
# Written by scripts/services.sh; edits are overwritten on each start.
# One node, KRaft combined mode, static single-voter quorum.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_RUN/data

# settings for tests on one small machine
auto.create.topics.enable=true
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
EOF
}

kafka_format() {
  [[ -f "$KAFKA_RUN/data/meta.properties" ]] && return 0
  local cid
  if [[ -f "$KAFKA_RUN/cluster.id" ]]; then
    cid="$(cat "$KAFKA_RUN/cluster.id")"
  else
    cid="$(kafka_tool kafka.tools.StorageTool random-uuid | tail -n 1)"
    [[ -n "$cid" ]] || die "kafka: could not generate a cluster id"
    echo "$cid" >"$KAFKA_RUN/cluster.id"
  fi
  log "kafka: formatting storage (cluster id $cid)"
  kafka_tool kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$KAFKA_RUN/server.properties" \
    >"$KAFKA_RUN/logs/format.log" 2>&1 \
    || { cat "$KAFKA_RUN/logs/format.log" >&2; die "kafka: formatting storage failed; remove $KAFKA_RUN and retry"; }
}

# 0 when a client gets metadata with a live broker
kafka_answers() {
  if python3 -c 'import confluent_kafka' 2>/dev/null; then
    python3 - "$HOST:$KAFKA_PORT" <<'EOF' 2>/dev/null
import sys
from confluent_kafka.admin import AdminClient
md = AdminClient({"bootstrap.servers": sys.argv[1], "log_level": 0}).list_topics(timeout=5)
sys.exit(0 if md.brokers else 1)
EOF
  else
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$KAFKA_PORT" --list >/dev/null 2>&1
  fi
}

kafka_start() {
  local pid
  if pid="$(pid_alive "$KAFKA_PIDFILE" kafka.Kafka)"; then
    if port_open "$KAFKA_PORT"; then
      log "kafka: already running on $HOST:$KAFKA_PORT (pid $pid)"
      return 0
    fi
    log "kafka: pid $pid is starting; waiting"
  elif port_open "$KAFKA_PORT"; then
    log "kafka: something already answers on $HOST:$KAFKA_PORT; reusing it (not managed by this script)"
    return 0
  else
    port_open "$KAFKA_CONTROLLER_PORT" \
      && die "kafka: controller port $KAFKA_CONTROLLER_PORT is taken by another process; free it or set FOREWARN_KAFKA_CONTROLLER_PORT"
    kafka_fetch_jars
    kafka_write_config
    kafka_format
    log "kafka: starting broker on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT)…"
    : >"$KAFKA_STDOUT"
    (
      cd "$KAFKA_RUN"
      exec setsid nohup java -Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Djava.awt.headless=true \
        -Dkafka.logs.dir="$KAFKA_RUN/logs" \
        -Dlog4j2.configurationFile="$REPO/deploy/kafka/log4j2.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_RUN/server.properties" \
        >>"$KAFKA_STDOUT" 2>&1 </dev/null
    ) &
    pid=$!
    echo "$pid" >"$KAFKA_PIDFILE"
  fi
  local t0=$SECONDS
  until port_open "$KAFKA_PORT" && kafka_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$KAFKA_PIDFILE"
      { tail -n 5 "$KAFKA_STDOUT"; grep -m 5 -E '^\[.*\] (ERROR|FATAL)' "$KAFKA_LOG"; } >&2 2>/dev/null || true
      die "kafka: broker exited during start; see $KAFKA_LOG and $KAFKA_STDOUT (a port clash? FOREWARN_KAFKA_PORT / FOREWARN_KAFKA_CONTROLLER_PORT change the ports)"
    fi
    if ((SECONDS - t0 > TIMEOUT)); then
      die "kafka: no answer on $HOST:$KAFKA_PORT after ${TIMEOUT}s (pid $pid still running); see $KAFKA_LOG; stop it with 'scripts/services.sh stop'"
    fi
    sleep 1
  done
  log "kafka: up on $HOST:$KAFKA_PORT (pid $pid, $((SECONDS - t0))s; log $KAFKA_LOG)"
}

kafka_stop() {
  stop_pid kafka "$KAFKA_PIDFILE" kafka.Kafka 60 "$KAFKA_PORT"
}

# ---------------------------------------------------------------- redis

redis_ping() { [[ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

redis_start() {
  if redis_ping; then
    local pid
    if pid="$(pid_alive "$REDIS_PIDFILE" redis-server)"; then
      log "redis: already running on $HOST:$REDIS_PORT (pid $pid)"
    else
      log "redis: something already answers on $HOST:$REDIS_PORT; reusing it (not managed by this script)"
    fi
    return 0
  fi
  port_open "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken by something that is not Redis; free it or set FOREWARN_REDIS_PORT"
  mkdir -p "$REDIS_RUN"
  log "redis: starting on $HOST:$REDIS_PORT…"
  redis-server --bind "$HOST" --port "$REDIS_PORT" --daemonize yes \
    --pidfile "$REDIS_PIDFILE" --dir "$REDIS_RUN" --logfile "$REDIS_LOG" \
    --appendonly no --protected-mode no \
    || die "redis: redis-server failed to start; see $REDIS_LOG"
  local t0=$SECONDS
  until redis_ping; do
    ((SECONDS - t0 > 30)) && die "redis: no PONG on $HOST:$REDIS_PORT after 30s; see $REDIS_LOG"
    sleep 0.2
  done
  log "redis: up on $HOST:$REDIS_PORT (pid $(cat "$REDIS_PIDFILE" 2>/dev/null); log $REDIS_LOG)"
}

redis_stop() {
  stop_pid redis "$REDIS_PIDFILE" redis-server 20 "$REDIS_PORT"
}

# ---------------------------------------------------------------- prometheus

# This stack's Prometheus config: deploy/prometheus/prometheus.yml scraping this stack's engine
# (FOREWARN_METRICS_PORT) and this Prometheus (FOREWARN_PROM_PORT), not the default ports.
prom_config() {
  mkdir -p "$PROM_RUN"
  sed -e "s/127\.0\.0\.1:9108/$HOST:$METRICS_PORT/" -e "s/127\.0\.0\.1:9090/$HOST:$PROM_PORT/" \
      -e "s#^  - alerts.yml\$#  - $REPO/deploy/prometheus/alerts.yml#" \
      "$REPO/deploy/prometheus/prometheus.yml" >"$PROM_CONFIG"
}

prom_ready() { curl -fsS -m 2 "http://$HOST:$PROM_PORT/-/ready" >/dev/null 2>&1; }

prom_start() {
  local pid
  if prom_ready; then
    if pid="$(pid_alive "$PROM_PIDFILE" prometheus)"; then
      log "prometheus: already running on $HOST:$PROM_PORT (pid $pid)"
    else
      log "prometheus: something already answers on $HOST:$PROM_PORT; reusing it (not managed by this script)"
    fi
    return 0
  fi
  if ! pid="$(pid_alive "$PROM_PIDFILE" prometheus)"; then
    port_open "$PROM_PORT" && die "prometheus: port $PROM_PORT is taken by something that is not a ready Prometheus; free it or set FOREWARN_PROM_PORT"
    prom_config
    if command -v promtool >/dev/null; then
      promtool check config "$PROM_CONFIG" >"$RUN/promtool.log" 2>&1 \
        || { cat "$RUN/promtool.log" >&2; die "prometheus: $PROM_CONFIG (or its rule files) is invalid; fix it and rerun"; }
    fi
    mkdir -p "$PROM_RUN/data"
    log "prometheus: starting on $HOST:$PROM_PORT (config $PROM_CONFIG)…"
    (
      cd "$PROM_RUN"
      exec setsid nohup prometheus --config.file="$PROM_CONFIG" \
        --web.listen-address="$HOST:$PROM_PORT" \
        --storage.tsdb.path="$PROM_RUN/data" \
        --storage.tsdb.retention.time=7d \
        --web.enable-lifecycle \
        >>"$PROM_LOG" 2>&1 </dev/null
    ) &
    pid=$!
    echo "$pid" >"$PROM_PIDFILE"
  fi
  local t0=$SECONDS
  until prom_ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PROM_PIDFILE"
      tail -n 20 "$PROM_LOG" >&2 || true
      die "prometheus: exited during start; see $PROM_LOG"
    fi
    ((SECONDS - t0 > TIMEOUT)) && die "prometheus: not ready on $HOST:$PROM_PORT after ${TIMEOUT}s; see $PROM_LOG"
    sleep 0.3
  done
  log "prometheus: up on $HOST:$PROM_PORT (pid $pid; log $PROM_LOG)"
}

prom_stop() {
  stop_pid prometheus "$PROM_PIDFILE" prometheus 30 "$PROM_PORT"
}

# ---------------------------------------------------------------- commands

status_line() { # name up? addr pidfile pattern
  local name="$1" up="$2" addr="$3" pid how
  if pid="$(pid_alive "$4" "$5")"; then how="pid $pid, started by services.sh"; else how="not managed by services.sh"; fi
  if [[ "$up" == 1 ]]; then
    printf '%-11s up    %-22s (%s)\n' "$name" "$addr" "$how"
  else
    printf '%-11s down  %-22s\n' "$name" "$addr"
  fi
}

cmd_status() {
  local k=0 r=0 p=0
  port_open "$KAFKA_PORT" && kafka_answers && k=1
  command -v redis-cli >/dev/null && redis_ping && r=1
  command -v curl >/dev/null && prom_ready && p=1
  status_line kafka "$k" "$HOST:$KAFKA_PORT" "$KAFKA_PIDFILE" kafka.Kafka
  status_line redis "$r" "$HOST:$REDIS_PORT" "$REDIS_PIDFILE" redis-server
  status_line prometheus "$p" "$HOST:$PROM_PORT" "$PROM_PIDFILE" prometheus
  ((k && r && p))
}

cmd_start() {
  local t0=$SECONDS
  mkdir -p "$RUN"
  ensure_packages
  redis_start
  prom_start
  kafka_start
  write_env
  log "all up in $((SECONDS - t0))s; connection settings in $RUN/services.env"
  cat "$RUN/services.env"
}

cmd_stop() {
  kafka_stop
  prom_stop
  redis_stop
}

cmd_restart_kafka() {
  if ! pid_alive "$KAFKA_PIDFILE" kafka.Kafka >/dev/null && port_open "$KAFKA_PORT"; then
    die "kafka: the broker on $HOST:$KAFKA_PORT was not started by this script, so it cannot be restarted here"
  fi
  kafka_stop
  local t0=$SECONDS
  # wait for the ports to be released before starting again
  while port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; do
    ((SECONDS - t0 > 30)) && die "kafka: ports $KAFKA_PORT/$KAFKA_CONTROLLER_PORT still busy 30s after stop"
    sleep 0.2
  done
  ensure_packages
  kafka_start
  write_env
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart-kafka) cmd_restart_kafka ;;
  prometheus-config) prom_config && echo "$PROM_CONFIG" ;;
  *)
    echo "usage: $0 {start|stop|status|restart-kafka|prometheus-config}" >&2
    exit 2
    ;;
esac
