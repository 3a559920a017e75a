#!/usr/bin/env bash
# The image test (ctest `image`): scripts/build-image builds the sbpipe
# image with buildah in a private store, runs `sbpipe --version` inside it,
# and pushes it with sbpipe push-installer to a docker-registry started here
# on 127.0.0.1; skopeo reads it back. Where buildah cannot run, this fails
# and says why (it is never skipped).
set -euo pipefail
binary=$(realpath "${1:?usage: test_image.sh SBPIPE_BINARY}")
cd "$(dirname "$0")/../.."
work=$(mktemp -d /tmp/sbpipe-test-image.XXXXXX)
reg_pid=
cleanup() {
  [ -n "$reg_pid" ] && { kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; }
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image test: $*" >&2; exit 1; }

command -v buildah >/dev/null || fail "buildah is not installed (scripts/setup installs it with SBPIPE_SETUP_EXTRA=buildah)"
probe=$(buildah --storage-driver vfs --root "$work/probe/root" --runroot "$work/probe/run" from scratch 2>&1) ||
  fail "buildah cannot run here: $probe"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/registry"
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:%s", secret: test}\n' \
  "$work/registry/data" "$port" > "$work/registry/config.yml"
docker-registry serve "$work/registry/config.yml" > "$work/registry/log" 2>&1 &
reg_pid=$!
for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done

ref="127.0.0.1:$port/owner/sbpipe:test"
pushed=$(SBPIPE_IMAGE_BINARY="$binary" SBPIPE_BUILDAH_ROOT="$work/buildah" scripts/build-image --push "$ref" --plain-http 2>"$work/build.err") ||
  fail "scripts/build-image failed: $(tail -5 "$work/build.err")"
grep -q "inside: sbpipe " "$work/build.err" || fail "no version check in the build output"
case $pushed in "127.0.0.1:$port/owner/sbpipe@sha256:"*) ;; *) fail "push printed '$pushed'" ;; esac
digest=${pushed#*@}
inspect=$(skopeo inspect --tls-verify=false "docker://$ref") || fail "skopeo cannot read the pushed image"
echo "$inspect" | grep -q "\"Digest\": \"$digest\"" || fail "skopeo sees another digest than sbpipe printed ($digest)"
echo "$inspect" | grep -q '"Architecture": "amd64"' || fail "the pushed image has no amd64 config"
# Nothing secret in the image: no file holding a PEM private key. (ELF
# libraries are skipped: GnuTLS carries the public test keys of its self-tests.)
keys=$(python3 - build/image/rootfs <<'PY'
import os, re, sys
pem = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40,}")
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        if not os.path.isfile(p) or os.path.islink(p):
            continue
        data = open(p, "rb").read()
        if not data.startswith(b"\x7fELF") and pem.search(data):
            print(p)
PY
)
[ -z "$keys" ] || fail "the image holds private key material: $keys"
[ "$(stat -c %s build/image/rootfs/usr/local/bin/sbpipe)" -lt $((20 * 1024 * 1024)) ] || fail "the binary in the image is not stripped"
echo "image test: built, ran sbpipe --version inside, pushed $pushed, read back with skopeo"
