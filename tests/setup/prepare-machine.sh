#!/usr/bin/env bash
# Prepares this machine for the Docker-backed test suites. Idempotent and quiet:
# it prints one line for each thing it actually does, nothing when all is in place.
#
#  1. installs the Debian packages the suites use (only the missing ones);
#  2. starts dockerd in the background when `docker info` does not answer;
#  3. builds local stand-ins for the stack's pinned registry, front (HAProxy) and Redis images
#     (no image can be pulled here), tagged with the name:tag of `private-registry:image`,
#     `private-registry:frontImage` and `private-registry:redisImage` in Pulumi.yaml, for the
#     token service's base image (`private-registry:tokenServiceNodeImage`), and for Docker
#     Content Trust's Notary server, signer and PostgreSQL (`private-registry:notaryServerImage`,
#     `notarySignerImage`, `postgresImage`).
#
# Usage: bash tests/setup/prepare-machine.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/dockerd-tests.log}"
say() { echo "prepare-machine: $*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# ---- 1. packages ------------------------------------------------------------------
PACKAGES=(docker.io docker-registry busybox-static skopeo apache2-utils wrk nftables iproute2 curl openssl prometheus shellcheck haproxy cron
  redis-server ceph-mon ceph-osd radosgw ceph-common notary postgresql)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get update (missing: ${missing[*]})"
  $SUDO apt-get update -qq >/dev/null
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- 2. dockerd -------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd in the background (log: $DOCKERD_LOG)"
  # setsid: its own session, so a CI runner ending this script's process group leaves it alone.
  $SUDO setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    say "dockerd did not answer within 60 s; last lines of $DOCKERD_LOG:" >&2
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
fi

# ---- 3. stand-in images -------------------------------------------------------------
# A reference is the default of a key in Pulumi.yaml or of a Dockerfile ARG, e.g.
#   registry:2.8.3@sha256:a3d8...  ->  stand-in tag registry:2.8.3
default_of() {
  (cd "$ROOT" && node -e '
  const YAML = require("yaml"); const fs = require("fs");
  const doc = YAML.parse(fs.readFileSync(process.argv[1], "utf8"));
  const v = doc && doc.config && doc.config[process.argv[2]];
  const d = v && typeof v === "object" ? v.default : v;
  if (!d) { console.error("Pulumi.yaml has no default for " + process.argv[2]); process.exit(1); }
  process.stdout.write(String(d));
' "$ROOT/Pulumi.yaml" "$1")
}

# busybox-static installs a statically linked /bin/busybox (no libraries needed in the image).
BUSYBOX_BIN=/bin/busybox
BUSYBOX_APPLETS=(sh ash wget chown chmod stat install cat ls echo test "[" sleep mkdir rm cp mv ln touch
  grep sed awk head tail id env ps kill nc true false printf date du df find xargs tr cut wc sort uniq
  hostname whoami basename dirname readlink realpath vi more less tee which sha256sum md5sum base64 tar
  gzip gunzip netstat ip ifconfig mount umount su uname)
THIS_SCRIPT="${BASH_SOURCE[0]}"

libraries_of() {
  ldd "$1" 2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3} !/=>/ && $1 ~ /^\// {print $1}' | sort -u
}

# build_stand_in <image reference> <host binary> <path in the image> <hook>
# The image holds the binary, its shared libraries and static busybox; the hook adds the
# image's own files and its Dockerfile lines (to $ctx/Dockerfile.tail). A function <hook>_inputs,
# when defined, prints what else the image is made of, so that a change of it rebuilds the image.
build_stand_in() {
  local ref="$1" bin="$2" image_path="$3" hook="$4"
  local tag inputs_hash current_hash previous_id out
  tag="${ref%%@*}"
  case "$tag" in *:*) ;; *) tag="$tag:latest" ;; esac
  inputs_hash="$( {
    echo "ref=$tag"
    # Contents only: the same script reached by another path must not rebuild the image.
    libraries_of "$bin" | cat - <(printf '%s\n' "$bin" "$BUSYBOX_BIN" "$THIS_SCRIPT") | xargs -r sha256sum | cut -d' ' -f1
    if declare -F "${hook}_inputs" >/dev/null; then "${hook}_inputs"; fi
  } | sha256sum | cut -c1-32)"
  current_hash="$(docker image inspect --format '{{ index .Config.Labels "org.private-registry.stand-in-inputs" }}' "$tag" 2>/dev/null || true)"
  if [ "$current_hash" = "$inputs_hash" ]; then return 0; fi

  previous_id="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
  say "building local stand-in image $tag (from $bin and static busybox)"
  say "note: the local stand-in is matched by name:tag ($tag) because it cannot carry the official digest ${ref#*@}"
  ctx="$(mktemp -d /tmp/stand-in.XXXXXX)"
  trap 'rm -rf "$ctx"' EXIT
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/root" "$ctx/rootfs/proc" \
    "$ctx/rootfs/sys" "$ctx/rootfs/dev" "$ctx/rootfs/usr/bin" "$ctx/rootfs/sbin" "$ctx/rootfs$(dirname "$image_path")"
  chmod 1777 "$ctx/rootfs/tmp"
  cp "$bin" "$ctx/rootfs$image_path"
  cp "$BUSYBOX_BIN" "$ctx/rootfs/bin/busybox"
  for a in "${BUSYBOX_APPLETS[@]}"; do
    [ -e "$ctx/rootfs/bin/$a" ] || ln -s busybox "$ctx/rootfs/bin/$a"
  done
  # Shared libraries of the binary (libc and the loader), at their own paths.
  libraries_of "$bin" | while read -r lib; do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
  fi
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/:/sbin/nologin' >"$ctx/rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:root' 'nobody:x:65534:' >"$ctx/rootfs/etc/group"
  : >"$ctx/Dockerfile.tail"
  "$hook" "$ctx"
  {
    echo "FROM scratch"
    echo "COPY rootfs/ /"
    echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    cat "$ctx/Dockerfile.tail"
    echo "LABEL org.private-registry.stand-in=\"true\" org.private-registry.stand-in-for=\"$ref\" org.private-registry.stand-in-inputs=\"$inputs_hash\""
  } >"$ctx/Dockerfile"
  if ! out="$(DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" 2>&1)"; then
    echo "$out" >&2
    say "docker build of the stand-in image $tag failed" >&2
    exit 1
  fi
  rm -rf "$ctx"
  trap - EXIT
  say "built $tag ($(docker image inspect --format '{{.Id}}' "$tag"))"
  # The stand-in this one replaced is now untagged; remove it unless a container still uses it.
  if [ -n "$previous_id" ] && [ "$previous_id" != "$(docker image inspect --format '{{.Id}}' "$tag")" ]; then
    docker image rm "$previous_id" >/dev/null 2>&1 || true
  fi
}

registry_image_files() {
  local ctx="$1"
  mkdir -p "$ctx/rootfs/etc/docker/registry" "$ctx/rootfs/var/lib/registry"
  # Same as the official image's /entrypoint.sh.
  cat >"$ctx/rootfs/entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh

set -e

case "$1" in
    *.yaml|*.yml) set -- registry serve "$@" ;;
    serve|garbage-collect|help|-*) set -- registry "$@" ;;
esac

exec "$@"
ENTRYPOINT
  chmod 755 "$ctx/rootfs/entrypoint.sh"
  # Same as the official image's default /etc/docker/registry/config.yml.
  cat >"$ctx/rootfs/etc/docker/registry/config.yml" <<'CONFIG'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
CONFIG
  printf '%s\n' 'VOLUME ["/var/lib/registry"]' 'EXPOSE 5000' 'ENTRYPOINT ["/entrypoint.sh"]' \
    'CMD ["/etc/docker/registry/config.yml"]' >"$ctx/Dockerfile.tail"
}

# Like the official haproxy image: config in /usr/local/etc/haproxy, haproxy on PATH, SIGUSR1 to stop softly.
haproxy_image_files() {
  local ctx="$1"
  mkdir -p "$ctx/rootfs/usr/local/etc/haproxy" "$ctx/rootfs/var/lib/haproxy"
  printf '%s\n' 'STOPSIGNAL SIGUSR1' 'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]' >"$ctx/Dockerfile.tail"
}

# Like the official redis:alpine image: redis-server and redis-cli in /usr/local/bin, the redis user
# 999:1000, /data as the working directory. Debian's redis-server is a link to the multi-call
# redis-check-rdb binary, which acts by the name it is started under: copied as redis-server.
redis_image_files() {
  local ctx="$1" cli
  cli="$(command -v redis-cli)"
  cp "$cli" "$ctx/rootfs/usr/local/bin/redis-cli"
  libraries_of "$cli" | while read -r lib; do
    [ -e "$ctx/rootfs$lib" ] && continue
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
  mkdir -p "$ctx/rootfs/data" "$ctx/rootfs/usr/local/etc/redis"
  echo 'redis:x:999:1000:redis:/home/redis:/sbin/nologin' >>"$ctx/rootfs/etc/passwd"
  echo 'redis:x:1000:redis' >>"$ctx/rootfs/etc/group"
  printf '%s\n' 'RUN ["/bin/busybox", "chown", "999:1000", "/data"]' 'VOLUME ["/data"]' 'WORKDIR /data' 'EXPOSE 6379' \
    'CMD ["redis-server"]' >"$ctx/Dockerfile.tail"
}

# Like the official node:alpine image: node, npm and npx in /usr/local/bin, npm in
# /usr/local/lib/node_modules, the node user 1000:1000 with /home/node. Its node and npm are this
# machine's (nodejs package), so the stand-in's node is the host's version, not the official 22.
NODE_BIN="$(command -v node || echo /usr/bin/node)"
# /usr/bin/npm links to <npm dir>/bin/npm-cli.js.
NPM_DIR="$(dirname "$(dirname "$(readlink -f "$(command -v npm || echo /usr/bin/npm)")")")"

# npm settings for builds in containers: the image carries this machine's CA bundle (with the CA of
# a TLS-inspecting egress, if any), and the proxy this machine's npm or environment uses. A proxy
# URL with credentials is left out: it would be stored in the image.
node_npmrc() {
  local key value
  echo "cafile=/etc/ssl/certs/ca-certificates.crt"
  for key in proxy https-proxy noproxy registry; do
    value="$(npm config get "$key" 2>/dev/null || true)"
    case "$key:$value" in
      proxy:null | proxy:) value="${http_proxy:-${HTTP_PROXY:-}}" ;;
      https-proxy:null | https-proxy:) value="${https_proxy:-${HTTPS_PROXY:-}}" ;;
      noproxy:null | noproxy:) value="${no_proxy:-${NO_PROXY:-}}" ;;
    esac
    case "$value" in
      "" | null | undefined) ;;
      *://*@*) say "note: not giving the node stand-in's npm the $key setting, as it holds credentials" >&2 ;;
      *) echo "$key=$value" ;;
    esac
  done
}

node_image_files_inputs() {
  echo "npm=$(node -p 'require(process.argv[1]).version' "$NPM_DIR/package.json")"
  node_npmrc
}

node_image_files() {
  local ctx="$1"
  local lib="$ctx/rootfs/usr/local/lib/node_modules"
  say "note: the stand-in's node is this machine's $("$NODE_BIN" --version) and npm $(node -p 'require(process.argv[1]).version' "$NPM_DIR/package.json"), not the official image's"
  mkdir -p "$lib" "$ctx/rootfs/usr/local/etc" "$ctx/rootfs/home/node"
  cp -a "$NPM_DIR" "$lib/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/rootfs/usr/local/bin/npx"
  # npm's scripts and the packages' bins start with #!/usr/bin/env node.
  ln -s /bin/busybox "$ctx/rootfs/usr/bin/env"
  # npm's global config, next to node's prefix (/usr/local).
  node_npmrc >"$ctx/rootfs/usr/local/etc/npmrc"
  echo 'node:x:1000:1000:Linux User,,,:/home/node:/bin/sh' >>"$ctx/rootfs/etc/passwd"
  echo 'node:x:1000:node' >>"$ctx/rootfs/etc/group"
  printf '%s\n' 'RUN ["/bin/busybox", "chown", "1000:1000", "/home/node"]' 'CMD ["node"]' >"$ctx/Dockerfile.tail"
}

# Like the official notary:server-0.7.0 / notary:signer-0.7.0 images (docker/notary-official-images):
# the binary and the default config in /notary/<role> (the working directory, on PATH), its
# entrypoint.sh (a first argument starting with - runs the binary with it), the notary user
# 1000:1000 (alpine's adduser -D), CMD --version. Differences: Debian's notary 0.7.0 build (against
# Debian's Go libraries: lib/pq 1.10, which speaks SCRAM-SHA-256 where the official build's 2015
# lib/pq does not; no version string), glibc and busybox instead of alpine.
notary_image_files() {
  local ctx="$1" role="$2" config="$3"
  local dir="$ctx/rootfs/notary/$role"
  # Same as the official images' entrypoint.sh.
  cat >"$dir/entrypoint.sh" <<ENTRYPOINT
#!/bin/sh
set -e

# this if will check if the first argument is a flag
# but only works if all arguments require a hyphenated flag
# -v; -SL; -f arg; etc will work, but not arg1 arg2
if [ "\${1:0:1}" = '-' ]; then
    set -- notary-$role "\$@"
fi

# else default to run whatever the user wanted like "bash"
exec "\$@"
ENTRYPOINT
  chmod 755 "$dir/entrypoint.sh"
  printf '%s\n' "$config" >"$dir/$role-config.json"
  echo 'notary:x:1000:1000::/home/notary:/bin/sh' >>"$ctx/rootfs/etc/passwd"
  echo 'notary:x:1000:' >>"$ctx/rootfs/etc/group"
}

notary_server_image_files() {
  # The official image's default server-config.json.
  notary_image_files "$1" server '{
	"server": {
		"http_addr": ":4443",
		"tls_key_file": "/certs/notary-server.key",
		"tls_cert_file": "/certs/notary-server.crt"
	},
	"trust_service": {
		"type": "remote",
		"hostname": "notarysigner",
		"port": "7899",
		"tls_ca_file": "/certs/root-ca.crt",
		"key_algorithm": "ecdsa",
		"tls_client_cert": "/certs/notary-server.crt",
		"tls_client_key": "/certs/notary-server.key"
	},
	"logging": {
		"level": "info"
	},
	"storage": {
		"backend": "mysql",
		"db_url": "server@tcp(mysql:3306)/notaryserver?parseTime=True"
	}
}'
  printf '%s\n' 'EXPOSE 4443' 'ENV INSTALLDIR=/notary/server' 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/notary/server' 'WORKDIR /notary/server' \
    'USER notary' 'ENTRYPOINT ["entrypoint.sh"]' 'CMD ["notary-server", "--version"]' >"$1/Dockerfile.tail"
}

notary_signer_image_files() {
  # The official image's default signer-config.json.
  notary_image_files "$1" signer '{
	"server": {
		"http_addr": ":4444",
		"grpc_addr": ":7899",
		"tls_cert_file": "/certs/notary-signer.crt",
		"tls_key_file": "/certs/notary-signer.key",
		"client_ca_file": "/certs/notary-server.crt"
	},
	"logging": {
		"level": "info"
	},
	"storage": {
		"backend": "mysql",
		"db_url": "signer@tcp(mysql:3306)/notarysigner?parseTime=True"
	}
}'
  printf '%s\n' 'EXPOSE 4444' 'EXPOSE 7899' 'ENV INSTALLDIR=/notary/signer' 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/notary/signer' 'WORKDIR /notary/signer' \
    'USER notary' 'ENTRYPOINT ["entrypoint.sh"]' 'CMD ["notary-signer", "--version"]' >"$1/Dockerfile.tail"
}

# Like the official postgres:16-alpine image: postgres, initdb, pg_ctl, psql and pg_isready in
# /usr/local/bin, the postgres user 70:70, PGDATA=/var/lib/postgresql/data (a volume), the socket
# in /var/run/postgresql, STOPSIGNAL SIGINT, and a docker-entrypoint.sh doing what the official one
# does for what the stack uses (below). Differences: Debian's PostgreSQL $PG_MAJOR (not 16) in
# Debian's layout (/usr/lib/postgresql/$PG_MAJOR, /usr/share/postgresql/$PG_MAJOR) on glibc, the
# C.UTF-8 locale (the official image: en_US.utf8 on musl), no JIT, no contrib extensions beyond
# Debian's postgresql package, busybox for the shell.
PG_MAJOR="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n 1)"
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"

copy_with_libraries() {
  local ctx="$1" file="$2"
  mkdir -p "$ctx/rootfs$(dirname "$file")"
  cp -L "$file" "$ctx/rootfs$file"
  libraries_of "$file" | while read -r lib; do
    [ -e "$ctx/rootfs$lib" ] && continue
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
}

postgres_image_files_inputs() {
  echo "pg=$PG_MAJOR $(dpkg-query -W -f='${Version}' "postgresql-$PG_MAJOR" 2>/dev/null || true)"
}

postgres_image_files() {
  local ctx="$1" tool so
  for tool in initdb pg_ctl psql pg_isready; do
    copy_with_libraries "$ctx" "$PG_BIN/$tool"
  done
  # Server modules (PL/pgSQL, encodings, snowball dictionaries...); llvmjit would pull in LLVM.
  for so in "/usr/lib/postgresql/$PG_MAJOR/lib/"*.so; do
    case "$so" in */llvmjit*) continue ;; esac
    copy_with_libraries "$ctx" "$so"
  done
  mkdir -p "$ctx/rootfs/usr/share" "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/var/lib/postgresql/data" "$ctx/rootfs/var/run/postgresql" \
    "$ctx/rootfs/docker-entrypoint-initdb.d"
  cp -a "/usr/share/postgresql" "$ctx/rootfs/usr/share/postgresql"
  # As the official image: listen on every address (its Dockerfile edits the sample the same way).
  sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$ctx/rootfs/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
  grep -q "^listen_addresses = '\*'" "$ctx/rootfs/usr/share/postgresql/$PG_MAJOR/postgresql.conf.sample"
  # Debian's PostgreSQL reads the system's time zone data; glibc's C.UTF-8 is a locale directory.
  cp -a /usr/share/zoneinfo "$ctx/rootfs/usr/share/zoneinfo"
  mkdir -p "$ctx/rootfs/usr/lib/locale"
  cp -a /usr/lib/locale/C.utf8 "$ctx/rootfs/usr/lib/locale/C.utf8"
  for tool in postgres initdb pg_ctl psql pg_isready; do
    ln -s "$PG_BIN/$tool" "$ctx/rootfs/usr/local/bin/$tool"
  done
  echo 'postgres:x:70:70:PostgreSQL user:/var/lib/postgresql:/bin/sh' >>"$ctx/rootfs/etc/passwd"
  echo 'postgres:x:70:' >>"$ctx/rootfs/etc/group"
  cat >"$ctx/rootfs/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# Stand-in for the official postgres image's docker-entrypoint.sh, for what the stack uses:
# POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE (POSTGRES_PASSWORD too, as the official one
# does), POSTGRES_INITDB_ARGS, /docker-entrypoint-initdb.d/*.sql and *.sh on an empty PGDATA, the
# postgres arguments passed to the temporary server as well. Differences: sh, not bash; no
# *.sql.gz/xz/zst scripts; POSTGRES_HOST_AUTH_METHOD only scram-sha-256, md5 or trust.
set -eu

if [ "${1#-}" != "$1" ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chmod 3777 /var/run/postgresql
  # The official entrypoint re-runs itself as postgres with su-exec; busybox su passes the arguments on.
  exec su -s /bin/sh -c 'exec "$0" "$@"' -- postgres "$0" "$@"
fi

want_help=no
for arg in "$@"; do
  case "$arg" in '-?' | --help | --describe-config | -V | --version) want_help=yes ;; esac
done

if [ "$1" = postgres ] && [ "$want_help" = no ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    POSTGRES_PASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"
  fi
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "Error: Database is uninitialized and superuser password is not specified (POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE)." >&2
    exit 1
  fi
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments, as in the official image
  printf '%s
' "${POSTGRES_PASSWORD:-}" | initdb --username="$user" --pwfile=/dev/stdin ${POSTGRES_INITDB_ARGS:-}
  printf '
host all all all %s
' "$auth" >>"$PGDATA/pg_hba.conf"

  # The temporary server: the given postgres arguments, no TCP.
  options=""
  shift
  for arg in "$@"; do
    options="$options '$(printf '%s' "$arg" | sed "s/'/'\\''/g")'"
  done
  PGUSER="$user" PGPASSWORD="${POSTGRES_PASSWORD:-}" pg_ctl -D "$PGDATA" -o "$options -c listen_addresses='' -p 5432" -w start
  set -- postgres "$@"
  run_sql() {
    PGPASSWORD="${POSTGRES_PASSWORD:-}" psql -v ON_ERROR_STOP=1 --username "$user" --no-password --no-psqlrc "$@"
  }
  if [ "$db" != postgres ]; then
    printf 'CREATE DATABASE :"db" ;
' | run_sql --dbname postgres --set db="$db"
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        echo "$0: running $f"
        if [ -x "$f" ]; then "$f"; else . "$f"; fi
        ;;
      *.sql)
        echo "$0: running $f"
        run_sql --dbname "$db" -f "$f"
        ;;
      */\*) ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset POSTGRES_PASSWORD
  echo
  echo 'PostgreSQL init process complete; ready for start up.'
  echo
fi

exec "$@"
ENTRYPOINT
  chmod 755 "$ctx/rootfs/usr/local/bin/docker-entrypoint.sh"
  printf '%s\n' 'RUN ["/bin/busybox", "chown", "70:70", "/var/lib/postgresql/data", "/var/run/postgresql"]' \
    'RUN ["/bin/busybox", "chmod", "3777", "/var/run/postgresql"]' 'RUN ["/bin/busybox", "chmod", "1777", "/var/lib/postgresql/data"]' \
    "ENV PG_MAJOR=$PG_MAJOR" 'ENV LANG=C.UTF-8' 'ENV PGDATA=/var/lib/postgresql/data' 'VOLUME ["/var/lib/postgresql/data"]' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' 'STOPSIGNAL SIGINT' 'EXPOSE 5432' 'CMD ["postgres"]' >"$ctx/Dockerfile.tail"
}

REGISTRY_REF="$(default_of private-registry:image)"
FRONT_REF="$(default_of private-registry:frontImage)"
REDIS_REF="$(default_of private-registry:redisImage)"
# The token service's build base (the unit tests keep its Dockerfile's default the same).
NODE_REF="$(default_of private-registry:tokenServiceNodeImage)"
build_stand_in "$REGISTRY_REF" "$(command -v docker-registry || echo /usr/bin/docker-registry)" /bin/registry registry_image_files
build_stand_in "$FRONT_REF" "$(command -v haproxy || echo /usr/sbin/haproxy)" /usr/local/sbin/haproxy haproxy_image_files
build_stand_in "$REDIS_REF" "$(command -v redis-server || echo /usr/bin/redis-server)" /usr/local/bin/redis-server redis_image_files
build_stand_in "$NODE_REF" "$NODE_BIN" /usr/local/bin/node node_image_files
build_stand_in "$(default_of private-registry:notaryServerImage)" "$(command -v notary-server || echo /usr/bin/notary-server)" /notary/server/notary-server notary_server_image_files
build_stand_in "$(default_of private-registry:notarySignerImage)" "$(command -v notary-signer || echo /usr/bin/notary-signer)" /notary/signer/notary-signer notary_signer_image_files
build_stand_in "$(default_of private-registry:postgresImage)" "$PG_BIN/postgres" "$PG_BIN/postgres" postgres_image_files
