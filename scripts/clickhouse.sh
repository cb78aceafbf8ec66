#!/usr/bin/env bash
# Test ClickHouse servers for genscope's ClickHouse backend.
#
#   scripts/clickhouse.sh install   install Debian's clickhouse-server and
#                                   clickhouse-client when missing
#   scripts/clickhouse.sh start     install if needed, start two servers on
#                                   loopback (not the system service), wait
#                                   until they answer, print the env vars
#   scripts/clickhouse.sh env       print the env vars (eval "$(... env)")
#   scripts/clickhouse.sh stop      stop the servers this script started
#
# Server 1 answers on 127.0.0.1:19000 (native) and :18123 (HTTP), server 2
# on :19001 and :18124. Each has its own config, data directory and log
# under $GENSCOPE_CH_DIR (default /tmp/genscope-clickhouse). Both know the
# cluster "genscope_test": two shards, one replica each, the two servers.
# Server 1 also speaks TLS (native port + 440, HTTPS port + 320) with a
# certificate for 127.0.0.1 from a test CA made here with openssl.
# Tests read (native address, the HTTP address inserts go to, the
# cluster as NAME@native=http,native=http, and the TLS ports and CA):
#   GENSCOPE_CLICKHOUSE=127.0.0.1:19000
#   GENSCOPE_CLICKHOUSE_HTTP=127.0.0.1:18123
#   GENSCOPE_CLICKHOUSE_CLUSTER=genscope_test@127.0.0.1:19000=127.0.0.1:18123,127.0.0.1:19001=127.0.0.1:18124
#   GENSCOPE_CLICKHOUSE_TLS=127.0.0.1:19440=127.0.0.1:18443
#   GENSCOPE_CLICKHOUSE_CA=$GENSCOPE_CH_DIR/tls/ca.crt
set -euo pipefail

dir=${GENSCOPE_CH_DIR:-/tmp/genscope-clickhouse}
# Ports: GENSCOPE_CH_TCP_PORTS / GENSCOPE_CH_HTTP_PORTS override them ("A B").
read -r -a tcp_ports <<<"${GENSCOPE_CH_TCP_PORTS:-19000 19001}"
read -r -a http_ports <<<"${GENSCOPE_CH_HTTP_PORTS:-18123 18124}"
cluster=genscope_test

server_bin() {
  for b in clickhouse-server /usr/bin/clickhouse-server /usr/bin/clickhouse; do
    if command -v "$b" >/dev/null 2>&1; then
      if [ "$(basename "$b")" = clickhouse ]; then echo "$b server"; else echo "$b"; fi
      return 0
    fi
  done
  return 1
}

install() {
  if server_bin >/dev/null && command -v clickhouse-client >/dev/null && command -v openssl >/dev/null; then
    return 0
  fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  # Another apt may be running (other installs on a shared machine): wait.
  for _ in $(seq 1 300); do
    if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1; then break; fi
    sleep 2
  done
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends clickhouse-server clickhouse-client openssl
}

# make_certs makes a test CA and a certificate for 127.0.0.1 it signed.
make_certs() {
  local t="$dir/tls"
  [ -s "$t/server.crt" ] && return 0
  mkdir -p "$t"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=genscope test CA" \
    -keyout "$t/ca.key" -out "$t/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$t/san.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 3650 \
    -extfile "$t/san.ext" -out "$t/server.crt" 2>/dev/null
  chmod 600 "$t/server.key" "$t/ca.key"
}

# tls_config is server 1's TLS listeners (none for the others).
tls_config() { # n tcp http
  [ "$1" = 1 ] || return 0
  cat <<EOF
    <tcp_port_secure>$(($2 + 440))</tcp_port_secure>
    <https_port>$(($3 + 320))</https_port>
    <openSSL>
        <server>
            <certificateFile>$dir/tls/server.crt</certificateFile>
            <privateKeyFile>$dir/tls/server.key</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
EOF
}

write_config() { # n tcp http
  local n=$1 tcp=$2 http=$3 d="$dir/s$1"
  mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas" "$d/log"
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$d/log/server.log</log>
        <errorlog>$d/log/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$tcp</tcp_port>
    <http_port>$http</http_port>
$(tls_config "$n" "$tcp" "$http")
    <interserver_http_port>$((http + 100))</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>1073741824</uncompressed_cache_size>
    <mark_cache_size>1073741824</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>$d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <remote_servers>
        <$cluster>
            <shard>
                <replica><host>127.0.0.1</host><port>${tcp_ports[0]}</port></replica>
            </shard>
            <shard>
                <replica><host>127.0.0.1</host><port>${tcp_ports[1]}</port></replica>
            </shard>
        </$cluster>
    </remote_servers>
</yandex>
EOF
  cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

answers() { # http port
  if command -v curl >/dev/null; then
    curl -fsS "http://127.0.0.1:$1/ping" >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /ping HTTP/1.0\r\n\r\n' >&3 && grep -q Ok <&3) 2>/dev/null
  fi
}

start() {
  install
  make_certs
  local bin
  bin=$(server_bin)
  for i in 0 1; do
    local n=$((i + 1)) d="$dir/s$((i + 1))"
    if answers "${http_ports[$i]}"; then
      echo "clickhouse $n already answers on 127.0.0.1:${tcp_ports[$i]}" >&2
      continue
    fi
    write_config "$n" "${tcp_ports[$i]}" "${http_ports[$i]}"
    rm -f "$d/server.pid"
    # setsid: the servers outlive this script and its process group. The
    # redirections are on the subshell itself, so nothing keeps this
    # script's stdout open: eval "$(scripts/clickhouse.sh start)" returns.
    (cd "$d" && exec setsid $bin --config-file="$d/config.xml") </dev/null >"$d/log/stdout.log" 2>&1 &
  done
  for i in 0 1; do
    local ok=""
    for _ in $(seq 1 120); do
      if answers "${http_ports[$i]}"; then ok=1; break; fi
      sleep 0.5
    done
    if [ -n "$ok" ] && [ ! -s "$dir/s$((i + 1))/server.pid" ]; then
      # The pid of the process listening on the native port.
      ss -ltnpH "sport = :${tcp_ports[$i]}" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1 >"$dir/s$((i + 1))/server.pid"
    fi
    if [ -z "$ok" ]; then
      echo "clickhouse $((i + 1)) did not answer on 127.0.0.1:${http_ports[$i]}; log:" >&2
      tail -n 30 "$dir/s$((i + 1))/log/"*.log >&2 || true
      exit 1
    fi
  done
  echo "clickhouse servers answer on 127.0.0.1:${tcp_ports[0]} and 127.0.0.1:${tcp_ports[1]}" >&2
  env_vars
}

env_vars() {
  echo "export GENSCOPE_CLICKHOUSE=127.0.0.1:${tcp_ports[0]}"
  echo "export GENSCOPE_CLICKHOUSE_HTTP=127.0.0.1:${http_ports[0]}"
  echo "export GENSCOPE_CLICKHOUSE_CLUSTER=$cluster@127.0.0.1:${tcp_ports[0]}=127.0.0.1:${http_ports[0]},127.0.0.1:${tcp_ports[1]}=127.0.0.1:${http_ports[1]}"
  echo "export GENSCOPE_CLICKHOUSE_TLS=127.0.0.1:$((tcp_ports[0] + 440))=127.0.0.1:$((http_ports[0] + 320))"
  echo "export GENSCOPE_CLICKHOUSE_CA=$dir/tls/ca.crt"
}

stop() {
  for n in 1 2; do
    local pf="$dir/s$n/server.pid"
    [ -f "$pf" ] || continue
    local pid
    pid=$(cat "$pf")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pf"
  done
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  env) env_vars ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|env|stop" >&2; exit 2 ;;
esac
