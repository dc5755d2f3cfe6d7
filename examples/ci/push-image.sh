#!/usr/bin/env bash
# Builds an image, tags it for the private registry and pushes it. The one script both example
# pipelines (Jenkinsfile, .gitlab-ci.yml) call, so their shell steps cannot drift apart.
#
# Inputs, all from the environment:
#   REGISTRY           host:port of the registry (the stack output `endpoint`)
#   REGISTRY_USER      this pipeline's own user, one of the stack's `users`
#   REGISTRY_PASSWORD  its password, from the CI system's masked credential; never printed
#   IMAGE              repository in the registry, e.g. team/app
#   TAG                tag to push, e.g. the commit's short SHA
#   CONTEXT            build context directory (default: .)
#
# The Docker engine that builds must trust the registry's CA
# (/etc/docker/certs.d/<host>:<port>/ca.crt). The last line printed is the pushed reference by
# digest, REGISTRY/IMAGE@sha256:…, which is what a deploy should pin.
set -euo pipefail
# A caller's `bash -x` would print the password as the login's input; tracing stays off here.
{ set +x; } 2>/dev/null

fail() { echo "push-image: $*" >&2; exit 2; }

missing=()
for name in REGISTRY REGISTRY_USER REGISTRY_PASSWORD IMAGE TAG; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
[ "${#missing[@]}" -eq 0 ] || fail "set ${missing[*]} (see the top of $0)"
CONTEXT="${CONTEXT:-.}"

# The reference grammar of the distribution spec, so a typo fails here and not half-way.
[[ "$REGISTRY" =~ ^[A-Za-z0-9.-]+(:[0-9]+)?$ ]] || fail "REGISTRY \"$REGISTRY\" is not host:port"
[[ "$IMAGE" =~ ^[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*$ ]] ||
  fail "IMAGE \"$IMAGE\" is not a repository name (lowercase letters, digits, separators . _ - and /)"
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || fail "TAG \"$TAG\" is not a valid tag"
[ -d "$CONTEXT" ] || fail "CONTEXT \"$CONTEXT\" is not a directory"

# Whatever happens next, the credential does not stay in the runner's Docker config.
trap 'docker logout "$REGISTRY" >/dev/null 2>&1 || true' EXIT

# printf is a shell builtin: the password goes down the pipe, never onto a command line.
printf '%s\n' "$REGISTRY_PASSWORD" | docker login "$REGISTRY" --username "$REGISTRY_USER" --password-stdin
# Nothing after the login needs it; keep it out of the build's environment.
unset REGISTRY_PASSWORD

local_ref="$IMAGE:$TAG"
remote_ref="$REGISTRY/$IMAGE:$TAG"
docker build --tag "$local_ref" "$CONTEXT"
docker tag "$local_ref" "$remote_ref"
docker push "$remote_ref"

digest_ref="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$remote_ref" | grep -F "$REGISTRY/$IMAGE@" | head -n 1)"
[ -n "$digest_ref" ] || fail "pushed $remote_ref but Docker recorded no digest for it"
echo "$digest_ref"
