#!/usr/bin/env bash
# End to end: scripts/demo, the README's first command, with the binary
# under test (setup and build skipped). The demo checks its own results
# (registry digest = the run's, skopeo reads it, sha256sum.txt and sha512sum.txt hold,
# release.json released with the digest, the ISO verifies); this test also
# checks what it printed, that every process it started is gone, and that
# it left no files. Usage: test_demo.sh SOURCE_DIR SBPIPE_BINARY
set -euo pipefail
src=$1
binary=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; echo "--- demo output" >&2; cat "$tmp/out" >&2; exit 1; }

SBPIPE_DEMO_NO_BUILD=1 SBPIPE_DEMO_BINARY="$binary" SBPIPE_DEMO_PIDS="$tmp/pids" "$src/scripts/demo" > "$tmp/out" 2>&1 ||
  fail "scripts/demo exited $?"
for expected in 'HTTP 201 {"status":"created"' 'the same body unsigned: HTTP 401' \
  'imager:secureboot-installer-amd64: done' 'imager:secureboot-iso-amd64: done' 'imager:iso-amd64: done' \
  'verify: done' 'push-installer: done' 'upload-assets: done' 'finalize: done' \
  '"Digest": "sha256:' 'EFI/Linux/Talos-v1.13.0.efi  uki           ok    signed by /CN=sbpipe demo UKI signing' \
  'metal-amd64-secureboot.iso: OK' 'vmlinuz-amd64: OK' 'initramfs-amd64.xz: OK' 'metal-amd64-secureboot-uki.efi: OK' 'imager:pxe-uki-amd64: done' 'prerelease: False'; do
  grep -qF -- "$expected" "$tmp/out" || fail "the demo did not print: $expected"
done
[ "$(wc -l < "$tmp/pids")" -eq 2 ] || fail "expected 2 PIDs (registry, receiver), got: $(cat "$tmp/pids")"
while read -r pid; do
  ! kill -0 "$pid" 2>/dev/null || fail "process $pid the demo started still runs"
done < "$tmp/pids"
work=$(sed -n 's/^== throwaway SecureBoot keys in \(.*\)\/keys$/\1/p' "$tmp/out")
[ -n "$work" ] && [ ! -e "$work" ] || fail "the demo left $work behind"
echo "ok: scripts/demo end to end ($(grep -c ': done' "$tmp/out") steps), nothing left running or on disk"
