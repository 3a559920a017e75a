#!/usr/bin/env bash
# The alerting rules (manifests/monitoring/sbpipe.rules.yaml) as Prometheus itself reads them:
# promtool (Debian's prometheus package) checks their syntax and runs the unit tests in
# sbpipe.rules.test.yaml, which feed series and name the alerts that must fire.
#   test_rules.sh SOURCE_DIR
set -euo pipefail
src=${1:?source dir}
command -v promtool >/dev/null || { echo "test_rules: promtool is missing (apt-get install prometheus; scripts/setup)" >&2; exit 1; }
promtool check rules "$src/manifests/monitoring/sbpipe.rules.yaml"
cd "$src/tests/monitoring"
promtool test rules sbpipe.rules.test.yaml
echo "monitoring: rules checked and their unit tests passed (promtool)"
