#!/usr/bin/env bash
# The image test (ctest `image`): scripts/build-image builds the sbpipe
# image for amd64 and arm64 (the arm64 binary cross-built) with buildah in a
# private store, runs `sbpipe --version` in each (arm64 under qemu-user, with
# the image's files as the only library root), and pushes the index with
# sbpipe push-installer to a docker-registry started here on 127.0.0.1;
# skopeo (containers/image) reads back the index and each platform's image.
# Where buildah cannot run, this fails and says why (it is never skipped).
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

# --pin writes a digest one already has, with the architectures it holds; without them, refused
# and the file untouched.
cp manifests/images/kustomization.yaml "$work/pin.yaml"
pin="ghcr.io/alice/sbpipe@sha256:$(printf '%064d' 7)"
rc=0; scripts/build-image --pin "$pin" --images-file "$work/pin.yaml" 2>"$work/pin.err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--pin needs --arch" "$work/pin.err" && cmp -s manifests/images/kustomization.yaml "$work/pin.yaml" ||
  fail "--pin without --arch: exit $rc, $(cat "$work/pin.err")"
scripts/build-image --pin "$pin" --arch arm64 --images-file "$work/pin.yaml" 2>/dev/null || fail "--pin --arch arm64 failed"
grep -q '^    sbpipe.dev/architectures: "arm64"$' "$work/pin.yaml" && grep -q "^    digest: ${pin#*@}\$" "$work/pin.yaml" &&
  grep -q "^    newName: ${pin%@*}\$" "$work/pin.yaml" || fail "--pin --arch arm64 wrote: $(cat "$work/pin.yaml")"

ref="127.0.0.1:$port/owner/sbpipe:test"
# The images file the manifests read (a copy): the push writes the digest and the architectures.
cp manifests/images/kustomization.yaml "$work/images.yaml"
pushed=$(SBPIPE_IMAGE_BINARY="$binary" SBPIPE_BUILDAH_ROOT="$work/buildah" scripts/build-image --push "$ref" --plain-http \
  --images-file "$work/images.yaml" 2>"$work/build.err") || fail "scripts/build-image failed: $(tail -5 "$work/build.err")"
for arch in amd64 arm64; do
  grep -q "($arch): inside: sbpipe .*, linux/$arch); user 65532:65532" "$work/build.err" ||
    fail "no $arch version check in the build output: $(cat "$work/build.err")"
done
case $pushed in "127.0.0.1:$port/owner/sbpipe@sha256:"*) ;; *) fail "push printed '$pushed'" ;; esac
digest=${pushed#*@}
grep -q "^    digest: $digest\$" "$work/images.yaml" || fail "the images file does not pin $digest"
grep -q '^    sbpipe.dev/architectures: "amd64,arm64"$' "$work/images.yaml" || fail "the images file does not name both architectures"
# The tag names one image index with a linux/amd64 and a linux/arm64 image, by the digest sbpipe printed.
raw=$(skopeo inspect --raw --tls-verify=false "docker://$ref") || fail "skopeo cannot read the pushed index"
python3 - "$raw" "$digest" <<'PY' || fail "the pushed index is not what build-image built"
import hashlib, json, sys
raw, digest = sys.argv[1].encode(), sys.argv[2]
assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest, "the tag's document is not the printed digest"
index = json.loads(raw)
assert index["mediaType"] == "application/vnd.oci.image.index.v1+json", index.get("mediaType")
platforms = sorted((m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"])
assert platforms == [("linux", "amd64"), ("linux", "arm64")], platforms
PY
for arch in amd64 arm64; do
  inspect=$(skopeo inspect --override-os linux --override-arch "$arch" --tls-verify=false "docker://$ref") ||
    fail "skopeo cannot read the $arch image"
  echo "$inspect" | grep -q "\"Architecture\": \"$arch\"" || fail "the index's $arch entry has another config: $inspect"
done
# The arm64 binary is an AArch64 executable for the arm64 loader, stripped, with its libraries beside it.
arm=build/image/arm64/rootfs
readelf -h "$arm/usr/local/bin/sbpipe" | grep -q 'Machine: *AArch64' || fail "the arm64 image's sbpipe is not an AArch64 binary"
readelf -l "$arm/usr/local/bin/sbpipe" | grep -q 'interpreter: /lib/ld-linux-aarch64.so.1' || fail "the arm64 binary asks for another loader"
readelf -h "$arm/lib/ld-linux-aarch64.so.1" | grep -q 'Machine: *AArch64' || fail "the arm64 image has no arm64 loader"
readelf -h "$arm/usr/lib/aarch64-linux-gnu/libcurl.so.4" | grep -q 'Machine: *AArch64' || fail "the arm64 image has no arm64 libcurl"
! find "$arm" -name '*x86_64*' | grep -q . || fail "the arm64 image holds amd64 files: $(find "$arm" -name '*x86_64*' | head -3)"
# The arm64 binary, under qemu-user with the image's root as its library root, does what the amd64
# binary under test does, byte for byte: push the same layout (the same digest), verify a signed
# and an unsigned EFI binary (the same verdicts and exit codes), plan a two-architecture build.
arm_sbpipe() { (cd "$work" && env -i "$(command -v qemu-aarch64)" -L "$repo/$arm" "$repo/$arm/usr/local/bin/sbpipe" "$@"); }
amd_sbpipe() { (cd "$work" && env -i "$binary" "$@"); }
repo=$PWD
arm_pushed=$(arm_sbpipe push-installer "$repo/build/image/oci-layout" --ref "127.0.0.1:$port/owner/sbpipe:arm64-pushed" --plain-http) ||
  fail "the arm64 sbpipe could not push the layout"
[ "$arm_pushed" = "$pushed" ] || fail "the arm64 sbpipe pushed $arm_pushed, the amd64 one $pushed"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/k.pem" -out "$work/c.pem" -days 2 -subj /CN=image-test 2>/dev/null
sbsign --key "$work/k.pem" --cert "$work/c.pem" --output "$work/signed.efi" /usr/lib/systemd/boot/efi/systemd-bootx64.efi 2>/dev/null
cp /usr/lib/systemd/boot/efi/systemd-bootx64.efi "$work/unsigned.efi"
for args in "verify signed.efi --cert c.pem -o json" "verify unsigned.efi --cert c.pem -o json" \
            "plan --tag v1.14.0 --arch amd64 --arch arm64 -o json"; do
  read -r -a argv <<< "$args"
  amd_rc=0 arm_rc=0
  amd_out=$(amd_sbpipe "${argv[@]}" 2>/dev/null) || amd_rc=$?
  arm_out=$(arm_sbpipe "${argv[@]}" 2>/dev/null) || arm_rc=$?
  [ -n "$amd_out" ] || fail "sbpipe $args printed nothing"
  [ "$amd_out" = "$arm_out" ] && [ "$amd_rc" = "$arm_rc" ] ||
    fail "sbpipe $args: amd64 exit $amd_rc, arm64 exit $arm_rc; the outputs differ: $(diff <(echo "$amd_out") <(echo "$arm_out") | head -5)"
done
grep -q '"signature":{"ok":true' <<< "$(amd_sbpipe verify signed.efi --cert c.pem -o json)" || fail "the signed binary did not verify"

# Nothing secret in the image: no file holding a PEM private key. (ELF
# libraries are skipped: GnuTLS carries the public test keys of its self-tests.)
keys=$(python3 - build/image/amd64/rootfs build/image/arm64/rootfs <<'PY'
import os, re, sys
pem = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40,}")
for d, _, files in (w for root in sys.argv[1:] for w in os.walk(root)):
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
for arch in amd64 arm64; do
  [ "$(stat -c %s "build/image/$arch/rootfs/usr/local/bin/sbpipe")" -lt $((20 * 1024 * 1024)) ] || fail "the $arch binary in the image is not stripped"
done
echo "image test: built amd64 and arm64, ran sbpipe --version in each, pushed the index $pushed, read back with skopeo; the arm64 binary pushed, verified and planned as the amd64 one did"
