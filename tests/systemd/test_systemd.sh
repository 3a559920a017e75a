#!/usr/bin/env bash
# The systemd unit of manifests/systemd: systemd-analyze verifies it (with
# ExecStart pointed at the built binary), its offline security exposure
# stays at or below 2.0 ("OK"), the hardening and credential settings the
# README promises are there, and its sbpipe command line passes the real
# parser. Usage: test_systemd.sh SBPIPE_BINARY MANIFESTS_DIR
set -euo pipefail
sbpipe=$1
unit=$2/systemd/sbpipe.service
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd; scripts/setup installs it)"
sed "s|/usr/local/bin/sbpipe|$sbpipe|" "$unit" > "$work/sbpipe.service"
if ! out=$(systemd-analyze verify "$work/sbpipe.service" 2>&1); then fail "systemd-analyze verify: $out"; fi
[ -z "$out" ] || fail "systemd-analyze verify warned: $out"
echo "ok: systemd-analyze verify"

security=$(systemd-analyze security --offline=true --threshold=20 "$work/sbpipe.service" 2>&1) ||
  fail "exposure above 2.0: $(echo "$security" | tail -1)"
echo "ok: $(echo "$security" | grep 'Overall exposure level')"

for setting in 'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes' 'ProtectHome=yes' 'UMask=0077' \
  'LoadCredential=webhook-secret:' 'LoadCredential=github-token:' 'StateDirectory=sbpipe' 'User=sbpipe' 'CapabilityBoundingSet=$' \
  'Type=notify' 'NotifyAccess=main'; do
  grep -q "^$setting" "$unit" || fail "sbpipe.service lacks $setting"
done
grep -q '^Environment=.*\(TOKEN\|SECRET\|PASSWORD\)' "$unit" && fail "a secret in Environment="
echo "ok: hardening and credentials"

# ExecStart (joined continuation lines) through the real parser.
exec_line=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed 's/\\$//' | tr -d '\n' | sed 's/^ExecStart=//')
mkdir -p "$work/creds"
echo secret > "$work/creds/webhook-secret"
printf 'serve:\n  allow_repos: [owner/talos-build]\nrun:\n  repo: owner/talos-build\n' > "$work/sbpipe.yaml"
exec_line=${exec_line//\$\{CREDENTIALS_DIRECTORY\}/$work/creds}
exec_line=${exec_line//\/etc\/sbpipe\/sbpipe.yaml/$work/sbpipe.yaml}
read -r -a argv <<< "$exec_line"
"$sbpipe" "${argv[@]:1}" --validate-only || fail "ExecStart does not parse: $exec_line"
echo "ok: ExecStart parses"

# The example config beside the unit: every section parses, and the keys
# reach only the SecureBoot imager runs. The dry run's preflight fails here
# (no keys in /etc/sbpipe/secureboot, no token): exit 1, the plan printed.
# Its looks at ghcr.io go to a proxy on 127.0.0.1:1 (refused at once): tests
# stay on loopback.
config=$2/systemd/sbpipe.yaml
# config check names the placeholders left (exit 2); with them replaced, OK.
"$sbpipe" config check "$config" 2>"$work/check.err" && fail "config check passed the example's OWNER placeholders"
grep -q "run.repo 'OWNER/talos-build' still holds the example's placeholder OWNER" "$work/check.err" ||
  fail "config check: $(cat "$work/check.err")"
sed 's/OWNER/alice/g' "$config" > "$work/filled.yaml"
check=$("$sbpipe" config check "$work/filled.yaml") || fail "example config, filled: $check"
[ "$check" = "$work/filled.yaml: OK" ] || fail "config check: $check"
dry=$(env GH_TOKEN= GITHUB_TOKEN= https_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1 no_proxy= NO_PROXY= \
  "$sbpipe" run --config "$config" --tag v1.9.0 --dry-run --retries 1 2>"$work/dry.err") && status=0 || status=$?
[ "$status" = 1 ] || fail "dry run without keys: exit $status, not 1: $(cat "$work/dry.err")"
grep -q 'preflight: .* check(s) failed (keys, ' "$work/dry.err" || fail "dry run without keys: $(cat "$work/dry.err")"
echo "$dry" | grep -q '^imager   .*-v /etc/sbpipe/secureboot:/secureboot:ro .* secureboot-installer ' || fail "keys not given to the SecureBoot installer run: $dry"
echo "$dry" | grep '^imager   .* iso --arch' | grep -q '/etc/sbpipe/secureboot' && fail "keys given to the plain ISO run: $dry"
echo "$dry" | grep -q '^push     ghcr.io/OWNER/installer:v1.9.0$' || fail "installer reference: $dry"
"$sbpipe" plan --config "$config" --tag v1.9.0 >/dev/null || fail "example config: imager section"
echo "ok: example config"
