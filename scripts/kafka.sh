#!/usr/bin/env bash
# A private single-node Apache Kafka 3.9 broker (KRaft: broker and controller in one JVM) for tests, benchmarks and
# development, on 127.0.0.1 and free ports, with its jars, config and data OUTSIDE the repo. Idempotent:
#   scripts/kafka.sh fetch    copy Kafka's jars from Maven Central into the cache (maven-dependency-plugin)
#   scripts/kafka.sh up       fetch if needed, format storage, start the broker (or find it running), wait until it
#                             answers; prints the bootstrap address (host:port) and writes it to the env file
#   scripts/kafka.sh down     stop it cleanly (SIGTERM: controlled shutdown; SIGKILL after 60 s); keeps data and port
#   scripts/kafka.sh status   prints the bootstrap address and exits 0 if it answers, exits 1 otherwise
#   scripts/kafka.sh clean    down, then delete its data directory (the jar cache stays)
# Environment:
#   NIGHTSHIFT_KAFKA_DIR      data, config, logs, pid (default /tmp/nightshift-kafka)
#   NIGHTSHIFT_KAFKA_CACHE    jar cache (default ~/.cache/nightshift/kafka-$KAFKA_VERSION)
#   NIGHTSHIFT_KAFKA_ENV      env file written by `up` (default ~/.cache/nightshift/kafka.env when NIGHTSHIFT_KAFKA_DIR
#                             is the default, else $NIGHTSHIFT_KAFKA_DIR/kafka.env), one line NIGHTSHIFT_KAFKA_BROKERS=...
#   NIGHTSHIFT_KAFKA_HEAP     JVM heap (default 512m)
#   NIGHTSHIFT_KAFKA_START_S  how long `up` waits for the broker to answer (default 300)
# Needs: java (17), mvn (for the first fetch only), node with the repo's node_modules (kafkajs, to check it answers).
set -euo pipefail

KAFKA_VERSION="3.9.1"
SLF4J_VERSION="1.7.36"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${NIGHTSHIFT_KAFKA_DIR:-/tmp/nightshift-kafka}"
CACHE="${NIGHTSHIFT_KAFKA_CACHE:-$HOME/.cache/nightshift/kafka-$KAFKA_VERSION}"
if [[ -n "${NIGHTSHIFT_KAFKA_ENV:-}" ]]; then ENVFILE="$NIGHTSHIFT_KAFKA_ENV"
elif [[ -z "${NIGHTSHIFT_KAFKA_DIR:-}" ]]; then ENVFILE="$HOME/.cache/nightshift/kafka.env"
else ENVFILE="$DIR/kafka.env"; fi
PIDFILE="$DIR/kafka.pid"
PORTFILE="$DIR/port"

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  [[ -f "$CACHE/libs/kafka_2.13-$KAFKA_VERSION.jar" && -f "$CACHE/libs/slf4j-reload4j-$SLF4J_VERSION.jar" ]] && return 0
  command -v java >/dev/null 2>&1 || die "java is not installed (Debian: apt-get install -y openjdk-17-jre-headless)"
  command -v mvn >/dev/null 2>&1 || die "mvn is not installed (Debian: apt-get install -y maven); it fetches Kafka from Maven Central"
  mkdir -p "$CACHE"
  cat >"$CACHE/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>nightshift</groupId><artifactId>kafka-broker</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  echo "kafka.sh: fetching Kafka $KAFKA_VERSION from Maven Central into $CACHE/libs" >&2
  rm -rf "$CACHE/libs.tmp"
  (cd "$CACHE" && mvn -q -B -f pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$CACHE/libs.tmp" >&2) \
    || die "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  rm -rf "$CACHE/libs" && mv "$CACHE/libs.tmp" "$CACHE/libs"
}

java_run() { java -Xshare:auto -cp "$CACHE/libs/*" -Dlog4j.configuration="file:$DIR/log4j.properties" "$@"; }

# A port the kernel just handed out is free now; a race with another process is possible but harmless in tests
# (the broker then fails to bind and `up` reports it).
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

bootstrap() { echo "127.0.0.1:$(head -1 "$PORTFILE")"; }

# Answers = the broker serves metadata and lists topics through the same client the pipeline uses.
answers() {
  [[ -f "$PORTFILE" ]] || return 1
  (cd "$ROOT" && NIGHTSHIFT_KAFKA_PROBE="$(bootstrap)" timeout 10 node --input-type=module -e '
    import kafkajs from "kafkajs";
    const k = new kafkajs.Kafka({ clientId: "kafka.sh", brokers: [process.env.NIGHTSHIFT_KAFKA_PROBE], logLevel: kafkajs.logLevel.NOTHING,
      connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 } });
    const a = k.admin();
    try { await a.connect(); await a.listTopics(); await a.disconnect(); process.exit(0); } catch { process.exit(1); }
  ' >/dev/null 2>&1)
}

write_config() {
  local port="$1" cport="$2"
  mkdir -p "$DIR/data" "$DIR/log"
  cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
# Checkpoints of perception state are single records of up to a few MB.
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
num.network.threads=2
num.io.threads=4
log.segment.bytes=268435456
log.cleaner.dedupe.buffer.size=33554432
log.cleaner.backoff.ms=5000
EOF
  retention_config
  cat >"$DIR/log4j.properties" <<EOF
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$DIR/log/server.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
EOF
  printf '%s\n%s\n' "$port" "$cport" >"$PORTFILE"
}

# Benchmarks and tests load simulated records whose Kafka timestamps (CreateTime: the event time) are months old.
# Time-based retention compares a closed segment's newest timestamp with the wall clock, so any retention.ms (the
# stock 24 h here before) deletes those segments mid-run. Retention is therefore unlimited by time and bounded by
# size per partition (8 GiB, far above what a benchmark writes; it only guards the disk). The timestamp checks are
# stated although 3.9's defaults already accept any timestamp (before/after.max.ms = Long.MAX), so another broker
# version's defaults cannot reject simulated times. Applied to an existing config too, from the next start on.
retention_config() {
  sed -i -E -e '/^log\.retention\.(ms|minutes|hours|bytes)=/d' -e '/^log\.message\.timestamp\./d' -e '/^# Simulated timestamps/d' "$DIR/server.properties"
  cat >>"$DIR/server.properties" <<EOF
# Simulated timestamps are months old: no time-based retention (see retention_config in scripts/kafka.sh).
log.retention.ms=-1
log.retention.bytes=8589934592
log.message.timestamp.type=CreateTime
log.message.timestamp.before.max.ms=9223372036854775807
log.message.timestamp.after.max.ms=9223372036854775807
EOF
}

cmd_up() {
  if running_pid >/dev/null && answers; then write_env; bootstrap; return 0; fi
  if ! running_pid >/dev/null; then
    # Keep the ports across down/up so that a client keeps its bootstrap address over an outage.
    if [[ ! -f "$PORTFILE" || ! -f "$DIR/server.properties" ]]; then write_config "$(free_port)" "$(free_port)"; else retention_config; fi
    if [[ ! -f "$DIR/cluster.id" ]]; then java_run kafka.tools.StorageTool random-uuid >"$DIR/cluster.id" 2>>"$DIR/log/format.log"; fi
    java_run kafka.tools.StorageTool format -t "$(cat "$DIR/cluster.id")" -c "$DIR/server.properties" --ignore-formatted \
      >>"$DIR/log/format.log" 2>&1 || { tail -20 "$DIR/log/format.log" >&2; die "storage format failed (see $DIR/log/format.log)"; }
    # setsid: the broker outlives the shell that started it (a test's setup), and `down` stops it by pid.
    setsid java "-Xmx${NIGHTSHIFT_KAFKA_HEAP:-512m}" "-Xms${NIGHTSHIFT_KAFKA_HEAP:-512m}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -Djava.awt.headless=true -cp "$CACHE/libs/*" -Dlog4j.configuration="file:$DIR/log4j.properties" \
      kafka.Kafka "$DIR/server.properties" >"$DIR/log/stdout.log" 2>&1 </dev/null 9>&- &
    echo $! >"$PIDFILE"
  fi
  # A deadline, not a count of probes: each probe is a node process that takes longer on a loaded machine. A broker
  # restarted over many partitions loads them all before it answers (minutes for thousands), hence the default.
  local limit="${NIGHTSHIFT_KAFKA_START_S:-300}" t0=$SECONDS
  while (( SECONDS - t0 < limit )); do
    if answers; then write_env; bootstrap; return 0; fi
    running_pid >/dev/null || { tail -30 "$DIR/log/stdout.log" "$DIR/log/server.log" >&2 2>/dev/null || true; die "broker exited during start (see $DIR/log)"; }
    sleep 0.5
  done
  die "broker did not answer on $(bootstrap) within $limit s (NIGHTSHIFT_KAFKA_START_S; see $DIR/log; $(ls "$DIR/data" 2>/dev/null | wc -l) partition directories)"
}

write_env() {
  mkdir -p "$(dirname "$ENVFILE")"
  echo "NIGHTSHIFT_KAFKA_BROKERS=$(bootstrap)" >"$ENVFILE"
}

cmd_down() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }; sleep 0.1; done
  echo "kafka.sh: broker $pid ignored SIGTERM for 60 s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

# Test files start in parallel and may all call `up` at once: one at a time per data directory (and per cache for
# the first fetch), the others then find the broker running.
locked() {
  local lock="$1"; shift
  mkdir -p "$(dirname "$lock")"
  exec 9>"$lock"
  flock -w 600 9 || die "waited 600 s for $lock"
  "$@"
}

case "${1:-}" in
  fetch) locked "$CACHE.lock" fetch; echo "$CACHE/libs" ;;
  up) locked "$CACHE.lock" fetch; locked "$DIR.lock" cmd_up ;;
  down) locked "$DIR.lock" cmd_down ;;
  status) if running_pid >/dev/null && answers; then bootstrap; else exit 1; fi ;;
  clean) cmd_down; rm -rf "$DIR"; [[ "$ENVFILE" == "$DIR/"* ]] || rm -f "$ENVFILE" ;;
  *) echo "usage: $0 fetch|up|down|status|clean" >&2; exit 2 ;;
esac
