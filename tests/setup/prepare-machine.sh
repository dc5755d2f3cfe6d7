#!/usr/bin/env bash
# Prepares this machine for the Docker-backed test suites. Idempotent and quiet:
# it prints one line for each thing it actually does, nothing when all is in place.
#
#  1. installs the Debian packages the suites use (only the missing ones);
#  2. starts dockerd in the background when `docker info` does not answer;
#  3. builds local stand-ins for the stack's pinned registry, front (HAProxy) and Redis images
#     (no image can be pulled here), tagged with the name:tag of `private-registry:image`,
#     `private-registry:frontImage` and `private-registry:redisImage` in Pulumi.yaml, and for the
#     token service's base image (`private-registry:tokenServiceNodeImage`).
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
  redis-server ceph-mon ceph-osd radosgw ceph-common)
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

REGISTRY_REF="$(default_of private-registry:image)"
FRONT_REF="$(default_of private-registry:frontImage)"
REDIS_REF="$(default_of private-registry:redisImage)"
# The token service's build base (the unit tests keep its Dockerfile's default the same).
NODE_REF="$(default_of private-registry:tokenServiceNodeImage)"
build_stand_in "$REGISTRY_REF" "$(command -v docker-registry || echo /usr/bin/docker-registry)" /bin/registry registry_image_files
build_stand_in "$FRONT_REF" "$(command -v haproxy || echo /usr/sbin/haproxy)" /usr/local/sbin/haproxy haproxy_image_files
build_stand_in "$REDIS_REF" "$(command -v redis-server || echo /usr/bin/redis-server)" /usr/local/bin/redis-server redis_image_files
build_stand_in "$NODE_REF" "$NODE_BIN" /usr/local/bin/node node_image_files
