#!/usr/bin/env bash
# A private ClickHouse server for tests and benchmarks: Debian's clickhouse-server (18.16) on 127.0.0.1, on free
# ports, with its config and data OUTSIDE the repo. Idempotent:
#   scripts/clickhouse.sh up      start it (or find it running); prints its HTTP URL on stdout
#   scripts/clickhouse.sh down    stop it cleanly (SIGTERM, then SIGKILL after 30 s); keeps the data and the port
#   scripts/clickhouse.sh status  prints the URL and exits 0 if it answers, exits 1 otherwise
#   scripts/clickhouse.sh clean   down, then delete its directory
# Environment: NIGHTSHIFT_CH_DIR (default /tmp/nightshift-clickhouse), NIGHTSHIFT_CH_BIN (default: clickhouse-server
# on PATH or /usr/sbin/clickhouse-server). `down` then `up` reuses the same port, so a client keeps its URL across an
# outage. Install the server with: apt-get install -y clickhouse-server
set -euo pipefail

DIR="${NIGHTSHIFT_CH_DIR:-/tmp/nightshift-clickhouse}"
PIDFILE="$DIR/server.pid"
PORTFILE="$DIR/http_port"

die() { echo "clickhouse.sh: $*" >&2; exit 1; }

find_bin() {
  if [[ -n "${NIGHTSHIFT_CH_BIN:-}" ]]; then echo "$NIGHTSHIFT_CH_BIN"; return; fi
  if command -v clickhouse-server >/dev/null 2>&1; then command -v clickhouse-server; return; fi
  if [[ -x /usr/sbin/clickhouse-server ]]; then echo /usr/sbin/clickhouse-server; return; fi
  die "clickhouse-server is not installed (Debian/Ubuntu: apt-get update && apt-get install -y clickhouse-server)"
}

# A port the kernel just handed out is free now; a race with another process is possible but harmless in tests
# (the server then fails to bind and `up` reports it).
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

url() { echo "http://127.0.0.1:$(cat "$PORTFILE")"; }

answers() { [[ -f "$PORTFILE" ]] && curl -fsS --max-time 2 "$(url)/ping" 2>/dev/null | grep -q Ok; }

write_config() {
  local http="$1" tcp="$2"
  mkdir -p "$DIR/data" "$DIR/tmp" "$DIR/user_files" "$DIR/log"
  cat >"$DIR/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$DIR/log/server.log</log><errorlog>$DIR/log/server.err.log</errorlog><size>50M</size><count>2</count></logger>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>50</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>67108864</mark_cache_size>
  <path>$DIR/data/</path>
  <tmp_path>$DIR/tmp/</tmp_path>
  <user_files_path>$DIR/user_files/</user_files_path>
  <users_config>$DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
  cat >"$DIR/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
  echo "$http" >"$PORTFILE"
}

cmd_up() {
  local bin; bin="$(find_bin)"
  if running_pid >/dev/null && answers; then url; return 0; fi
  if pid="$(running_pid)"; then
    # Started but not answering yet (or hung): give it the usual wait below instead of starting a second one.
    :
  else
    if [[ ! -f "$PORTFILE" || ! -f "$DIR/config.xml" ]]; then write_config "$(free_port)" "$(free_port)"; fi
    # setsid: the server outlives the shell that started it (a test's globalSetup), and `down` stops it by pid.
    setsid "$bin" --config-file="$DIR/config.xml" --pid-file="$PIDFILE" >"$DIR/log/stdout.log" 2>&1 </dev/null &
    local starter=$!
    # The server writes its own pid file once running; until then, remember the pid we started.
    for _ in $(seq 1 20); do [[ -s "$PIDFILE" ]] && break; sleep 0.1; done
    [[ -s "$PIDFILE" ]] || echo "$starter" >"$PIDFILE"
  fi
  for _ in $(seq 1 300); do
    if answers; then url; return 0; fi
    running_pid >/dev/null || { tail -20 "$DIR/log/stdout.log" "$DIR/log/server.err.log" >&2 2>/dev/null || true; die "server exited during start (see $DIR/log)"; }
    sleep 0.1
  done
  die "server did not answer on $(url) within 30 s (see $DIR/log)"
}

cmd_down() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return 0; }; sleep 0.1; done
  echo "clickhouse.sh: server $pid ignored SIGTERM for 30 s, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) if running_pid >/dev/null && answers; then url; else exit 1; fi ;;
  clean) cmd_down; rm -rf "$DIR" ;;
  *) echo "usage: $0 up|down|status|clean" >&2; exit 2 ;;
esac
