#!/usr/bin/env bash
# Test set-up, not product: a single-node Ceph cluster (one monitor, one memstore OSD, no mgr)
# with the RADOS Gateway serving S3, run as plain processes without systemd.
#
# Everything lives in one state directory; every daemon listens on 127.0.0.1 only, on ports away
# from Ceph's defaults, and is started with this directory's ceph.conf, so the machine's
# /etc/ceph and /var/lib/ceph are never read or written.
#
# Usage: tests/setup/ceph-rgw.sh start|status|stop [DIR]
#   DIR defaults to $CEPH_RGW_DIR; `start` without either makes a new directory under /tmp.
#   start   starts the cluster (or finds it running), creates an S3 user and a bucket, and writes
#           DIR/env (mode 600, sourceable): CEPH_RGW_ENDPOINT, CEPH_RGW_REGION, CEPH_RGW_BUCKET,
#           CEPH_RGW_ACCESS_KEY, CEPH_RGW_SECRET_KEY, CEPH_RGW_PIDS, ... It prints that file
#           without the secret key. DIR/s3.curlrc signs curl requests for that user:
#             curl -K DIR/s3.curlrc http://127.0.0.1:17480/BUCKET/KEY
#   status  prints each daemon's state and whether S3 answers; exits 1 unless all are up.
#   stop    kills the processes that start started (by their PID files) and removes DIR.
#
# Needs Debian's ceph-mon ceph-osd radosgw ceph-common (the mgr is not used).
# Settings (environment): CEPH_RGW_MON_PORT (16789, else a free one of 16780-16799),
#   CEPH_RGW_PORT (17480, else a free one of 17481-17499), CEPH_RGW_DAEMON_PORTS (16800-16899: the
#   OSD binds 4 free ones of these), CEPH_RGW_BUCKET (registry),
#   CEPH_RGW_ACCESS_KEY / CEPH_RGW_SECRET_KEY (generated), CEPH_RGW_TIMEOUT (seconds per wait, 60),
#   CEPH_RGW_MEMSTORE_BYTES (1 GiB: the OSD keeps objects in RAM, up to this),
#   CEPH_RGW_KEEP_ON_FAILURE=1 (a failed start leaves the daemons and DIR for a look),
#   CEPH_RGW_ADDRESS (127.0.0.1: the gateway's listening address; the other daemons keep loopback).
set -Eeuo pipefail

DAEMON_PORTS="${CEPH_RGW_DAEMON_PORTS:-16800-16899}"
BUCKET="${CEPH_RGW_BUCKET:-registry}"
# The gateway's address; containers reach it only on an address other than loopback, e.g. that of
# a test namespace the script runs in (ip netns exec NS ceph-rgw.sh start).
RGW_ADDRESS="${CEPH_RGW_ADDRESS:-127.0.0.1}"
TIMEOUT="${CEPH_RGW_TIMEOUT:-60}"
MEMSTORE_BYTES="${CEPH_RGW_MEMSTORE_BYTES:-1073741824}"
REGION="us-east-1"
MARKER=".ceph-rgw-state"
# The daemons, by their Ceph names (PID files, logs), in start order.
DAEMONS=(mon.a osd.0 client.rgw.gw)

say() { echo "ceph-rgw: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Names the command that failed, so a failed start says more than its exit code.
# Only the innermost failure: the trap also runs in each calling function (set -E).
trap 'rc=$?; [ -n "${FAILED_AT:-}" ] || { FAILED_AT=$LINENO; say "failed (exit $rc) at line $LINENO: $BASH_COMMAND"; }' ERR

usage() { die "usage: $0 start|status|stop [DIR] (or CEPH_RGW_DIR)"; }

now_ms() { date +%s%3N; }

set_paths() {
  DIR="$1"
  CONF="$DIR/ceph.conf"
  KEYRING="$DIR/keyring"
  ENV_FILE="$DIR/env"
  CURLRC="$DIR/s3.curlrc"
  ENDPOINT=""
  # A running cluster's endpoint is in its env file (its port may be a fallback one).
  if [ -s "$ENV_FILE" ]; then ENDPOINT="$(sed -n 's/^CEPH_RGW_ENDPOINT=//p' "$ENV_FILE")"; fi
}

# ---- processes ---------------------------------------------------------------------------

pid_file() { echo "$DIR/run/$1.pid"; }

# The PID in a daemon's PID file, only while that process is still ours: a daemon started with
# this directory's ceph.conf (guards against a reused PID).
daemon_pid() {
  local file pid
  file="$(pid_file "$1")"
  [ -s "$file" ] || return 1
  pid="$(tr -d '[:space:]' <"$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$CONF" || return 1
  echo "$pid"
}

all_running() {
  local d
  for d in "${DAEMONS[@]}"; do daemon_pid "$d" >/dev/null || return 1; done
}

# Running, and not a zombie: the daemons' parent is init, which may reap them a second later.
alive() {
  local state
  state="$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# SIGKILL, not SIGTERM: the state goes away with the directory, so there is nothing to flush, and
# a graceful stop costs ~2 s per daemon (7 s for OSD and monitor together) and sometimes hangs in
# radosgw.
kill_daemons() {
  local d pid pids=()
  for d in "${DAEMONS[@]}"; do
    if pid="$(daemon_pid "$d")"; then pids+=("$pid"); fi
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  kill -KILL "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    while alive "$pid"; do sleep 0.05; done
  done
}

# ---- ceph commands -----------------------------------------------------------------------

ceph_cli() { timeout 20 ceph -c "$CONF" --connect-timeout 10 "$@"; }

# wait_for <what> <command...>: runs the command until it succeeds, for at most $TIMEOUT s.
wait_for() {
  local what="$1" deadline
  shift
  deadline=$(($(date +%s) + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "$what did not happen within ${TIMEOUT} s"
      return 1
    fi
    sleep 0.2
  done
}

mon_in_quorum() { ceph_cli quorum_status | grep -q '"quorum_names":\["a"\]'; }
osd_up_and_in() { ceph_cli osd stat -f json | grep -q '"num_up_osds":1,"osd_up_since":[0-9]*,"num_in_osds":1'; }
rgw_answers() { [ -n "$ENDPOINT" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$ENDPOINT/")" = 200 ]; }

# s3 <curl args...>: a request signed with SigV4 for the test user; the keys stay in the curlrc
# file, off the command line. curl 7.88 signs the query string as written: give every parameter
# a value (`?uploads=`), in sorted order, percent-encoded (`prefix=a%2Fb`).
s3() { curl -sS --fail-with-body -K "$CURLRC" "$@"; }

LISTENING=""
port_busy() { grep -qx -- "$1" <<<"$LISTENING"; }

# pick_port <given> <preferred> <fallback low> <fallback high>: the given port, which must be
# free; else the preferred one, or the first free one of the fallback range, when it is taken.
pick_port() {
  local p
  if [ -n "$1" ]; then
    if port_busy "$1"; then die "port $1 is already in use"; fi
    echo "$1"
    return 0
  fi
  for p in "$2" $(seq "$3" "$4"); do
    if ! port_busy "$p"; then
      echo "$p"
      return 0
    fi
  done
  die "no free port in $2 or $3-$4"
}

choose_ports() {
  local lo="${DAEMON_PORTS%-*}" hi="${DAEMON_PORTS#*-}" free=0 p
  LISTENING="$(ss -Htln | awk '{ p = $4; sub(/.*:/, "", p); print p }' | sort -un)"
  MON_PORT="$(pick_port "${CEPH_RGW_MON_PORT:-}" 16789 16780 16799)"
  RGW_PORT="$(pick_port "${CEPH_RGW_PORT:-}" 17480 17481 17499)"
  ENDPOINT="http://$RGW_ADDRESS:$RGW_PORT"
  # Each daemon binds the first free ports of the range; the OSD needs four.
  for p in $(seq "$lo" "$hi"); do
    if ! port_busy "$p"; then free=$((free + 1)); fi
  done
  [ "$free" -ge 8 ] || die "fewer than 8 free ports in $DAEMON_PORTS (set CEPH_RGW_DAEMON_PORTS)"
}

write_conf() {
  local fsid="$1"
  mkdir -p "$DIR"/{run,log,crash,mon/a,osd/0,rgw}
  cat >"$CONF" <<EOF
# Single-node test cluster; every path is inside $DIR.
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
ms bind port min = ${DAEMON_PORTS%-*}
ms bind port max = ${DAEMON_PORTS#*-}
keyring = $KEYRING
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
crash dir = $DIR/crash
mon cluster log file = $DIR/log/cluster.log
mon data = $DIR/mon/\$id
osd data = $DIR/osd/\$id
rgw data = $DIR/rgw/\$id
auth allow insecure global id reclaim = false
# A nearly full /tmp must not shut the monitor down.
mon data avail crit = 0
# One OSD: pools of one replica, few placement groups, no autoscaler (it lives in the mgr).
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
# Commit map changes at once (default: batched for 1 s); RGW creates its pools one by one.
paxos propose interval = 0.01
paxos min wait = 0.001
osd crush chooseleaf type = 0
# Lean on 2 cores.
ms async op threads = 1
debug ms = 0

[osd]
osd objectstore = memstore
# Objects live in RAM, up to this size.
memstore device bytes = $MEMSTORE_BYTES
osd crush initial weight = 1
osd op num shards = 1
osd op num threads per shard = 2

[client.rgw.gw]
rgw frontends = beast endpoint=$RGW_ADDRESS:$RGW_PORT tcp_nodelay=1
rgw thread pool size = 32
rgw enable usage log = false
EOF
}

# ---- start -------------------------------------------------------------------------------

print_env() { grep -v '^CEPH_RGW_SECRET_KEY=' "$ENV_FILE"; }

on_start_failure() {
  local rc=$? d log
  trap - EXIT
  [ "$rc" -ne 0 ] || return 0
  say "start failed; last log lines:"
  for d in "${DAEMONS[@]}"; do
    log="$DIR/log/$d.log"
    if [ -s "$log" ]; then
      echo "---- $log" >&2
      tail -n 15 "$log" >&2
    fi
  done
  if [ -n "${CEPH_RGW_KEEP_ON_FAILURE:-}" ]; then
    say "left running for a look (CEPH_RGW_KEEP_ON_FAILURE): $0 stop $DIR"
    exit "$rc"
  fi
  kill_daemons
  rm -rf "$DIR"
  say "cleaned up $DIR"
  exit "$rc"
}

cmd_start() {
  if [ -f "$DIR/$MARKER" ] && [ -s "$ENV_FILE" ] && all_running && rgw_answers; then
    say "already running in $DIR"
    print_env
    return 0
  fi
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
    [ -f "$DIR/$MARKER" ] || die "$DIR is not empty and is not a ceph-rgw state directory"
    say "a stale cluster is in $DIR: removing it first"
    kill_daemons
    rm -rf "$DIR"
  fi
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool curl ss python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install ceph-mon ceph-osd radosgw ceph-common curl iproute2)"
  done
  choose_ports

  local t0 fsid osd_uuid
  t0="$(now_ms)"
  umask 077
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  touch "$DIR/$MARKER"
  trap on_start_failure EXIT
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  write_conf "$fsid"

  # One keyring for all: the monitor imports it at mkfs; it stays outside the mon's data dir.
  ceph-authtool --create-keyring "$KEYRING" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$KEYRING" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$KEYRING" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
  ceph-authtool "$KEYRING" --gen-key -n client.rgw.gw --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
  chmod 600 "$KEYRING"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$KEYRING" 2>>"$DIR/log/mkfs.log"
  ceph-mon -c "$CONF" -i a 2>>"$DIR/log/mon.a.stderr"
  wait_for "the monitor's quorum" mon_in_quorum
  say "monitor in quorum after $(($(now_ms) - t0)) ms"

  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  [ "$(ceph_cli osd new "$osd_uuid")" = 0 ] || die "ceph osd new did not give id 0"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$DIR/log/mkfs.log"
  ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/osd.0.stderr"
  wait_for "osd.0 up and in" osd_up_and_in
  say "osd.0 up after $(($(now_ms) - t0)) ms"

  radosgw -c "$CONF" -n client.rgw.gw 2>>"$DIR/log/client.rgw.gw.stderr"
  wait_for "the RADOS Gateway answering on $ENDPOINT" rgw_answers
  say "RADOS Gateway answering after $(($(now_ms) - t0)) ms"

  create_user
  cat >"$CURLRC" <<EOF
aws-sigv4 = "aws:amz:$REGION:s3"
user = "$ACCESS_KEY:$SECRET_KEY"
# S3 wants this header signed; curl 7.88 does not add it by itself, and signs the value given.
header = "x-amz-content-sha256: UNSIGNED-PAYLOAD"
EOF

  s3 -X PUT "$ENDPOINT/$BUCKET" -o /dev/null
  warm_multipart

  local pids=() d
  for d in "${DAEMONS[@]}"; do pids+=("$(daemon_pid "$d")"); done
  cat >"$ENV_FILE" <<EOF
CEPH_RGW_DIR=$DIR
CEPH_RGW_CONF=$CONF
CEPH_RGW_ENDPOINT=$ENDPOINT
CEPH_RGW_REGION=$REGION
CEPH_RGW_BUCKET=$BUCKET
CEPH_RGW_ACCESS_KEY=$ACCESS_KEY
CEPH_RGW_SECRET_KEY=$SECRET_KEY
CEPH_RGW_CURLRC=$CURLRC
CEPH_RGW_PIDS=$(IFS=,; echo "${pids[*]}")
CEPH_RGW_PORTS=$MON_PORT,$DAEMON_PORTS,$RGW_PORT
CEPH_RGW_START_MS=$(($(now_ms) - t0))
EOF
  trap - EXIT
  say "S3 ready on $ENDPOINT in $(($(now_ms) - t0)) ms (state: $DIR)"
  print_env
}

# Sets ACCESS_KEY and SECRET_KEY: the given ones, or keys radosgw-admin generates (so they appear
# on no command line).
create_user() {
  local given=() keys
  if [ -n "${CEPH_RGW_ACCESS_KEY:-}" ] || [ -n "${CEPH_RGW_SECRET_KEY:-}" ]; then
    if [ -z "${CEPH_RGW_ACCESS_KEY:-}" ] || [ -z "${CEPH_RGW_SECRET_KEY:-}" ]; then
      die "give both CEPH_RGW_ACCESS_KEY and CEPH_RGW_SECRET_KEY, or neither"
    fi
    given=(--access-key="$CEPH_RGW_ACCESS_KEY" --secret-key="$CEPH_RGW_SECRET_KEY")
  fi
  keys="$(radosgw-admin -c "$CONF" user create --uid=tests --display-name="ceph-rgw.sh tests" "${given[@]}" \
    2>>"$DIR/log/radosgw-admin.log" |
    python3 -c 'import json, sys; k = json.load(sys.stdin)["keys"][0]; print(k["access_key"], k["secret_key"])')"
  read -r ACCESS_KEY SECRET_KEY <<<"$keys"
  if [ -z "$ACCESS_KEY" ] || [ -z "$SECRET_KEY" ]; then die "radosgw-admin user create gave no keys"; fi
}

# RGW creates its non-EC data pool on the first multipart upload (~2 s): pay that here, once.
warm_multipart() {
  local key=".ceph-rgw-warm-up" upload_id part
  upload_id="$(s3 -X POST "$ENDPOINT/$BUCKET/$key?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')"
  [ -n "$upload_id" ] || die "no UploadId from the warm-up multipart upload"
  part="$(printf 'warm-up' | s3 -X PUT --data-binary @- -D - -o /dev/null \
    "$ENDPOINT/$BUCKET/$key?partNumber=1&uploadId=$upload_id" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: *//p')"
  [ -n "$part" ] || die "no ETag for the warm-up part"
  s3 -X POST -o /dev/null --data-binary \
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>$part</ETag></Part></CompleteMultipartUpload>" \
    "$ENDPOINT/$BUCKET/$key?uploadId=$upload_id"
  s3 -X DELETE -o /dev/null "$ENDPOINT/$BUCKET/$key"
}

# ---- status / stop -----------------------------------------------------------------------

cmd_status() {
  [ -f "$DIR/$MARKER" ] || { echo "not running (no state in $DIR)"; return 1; }
  local d pid ok=0 rss
  for d in "${DAEMONS[@]}"; do
    if pid="$(daemon_pid "$d")"; then
      rss="$(awk '/^VmRSS:/ {print $2 " " $3}' "/proc/$pid/status")"
      echo "$d: running, pid $pid, RSS $rss"
    else
      echo "$d: not running"
      ok=1
    fi
  done
  if rgw_answers; then echo "S3: answering on $ENDPOINT"; else echo "S3: not answering on $ENDPOINT"; ok=1; fi
  return "$ok"
}

cmd_stop() {
  if [ ! -e "$DIR" ]; then
    say "nothing to stop ($DIR does not exist)"
    return 0
  fi
  [ -f "$DIR/$MARKER" ] || [ -z "$(ls -A "$DIR")" ] || die "$DIR is not a ceph-rgw state directory; leaving it alone"
  kill_daemons
  rm -rf "$DIR"
  say "stopped; removed $DIR"
}

main() {
  local cmd="${1:-}" dir="${2:-${CEPH_RGW_DIR:-}}"
  case "$cmd" in
    start)
      [ -n "$dir" ] || dir="$(mktemp -d /tmp/ceph-rgw.XXXXXX)"
      set_paths "$dir"
      cmd_start
      ;;
    status | stop)
      [ -n "$dir" ] || die "which cluster? give DIR or set CEPH_RGW_DIR"
      set_paths "$dir"
      # A condition: a status of "not running" is an answer, not a failure to report.
      if "cmd_$cmd"; then exit 0; else exit 1; fi
      ;;
    *) usage ;;
  esac
}

main "$@"
