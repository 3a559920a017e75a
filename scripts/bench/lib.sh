# Shared helpers of the benchmarks (sourced).

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; return 1
}

wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}

# start_registry DIR → sets REG_PORT and REG_PID; storage in DIR/data.
start_registry() {
  local dir=$1
  REG_PORT=$(free_port)
  mkdir -p "$dir"
  cat > "$dir/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
http:
  addr: 127.0.0.1:$REG_PORT
  secret: bench
YML
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  REG_PID=$!
  wait_port "$REG_PORT"
}

stop_registry() { kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; }

# measure LABEL CMD... → prints and sets LAST_SECS, LAST_RSS_KB (GNU time).
measure() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$tf" "$@" >/dev/null 2>"$tf.err" || { echo "$label failed:"; cat "$tf.err"; return 1; }
  read -r LAST_SECS LAST_RSS_KB < "$tf"
  printf "%-28s %8.2f s   peak RSS %7.1f MiB\n" "$label" "$LAST_SECS" "$(echo "$LAST_RSS_KB/1024" | bc -l)"
  rm -f "$tf" "$tf.err"
}

# measure_best LABEL CMD...: as measure, the best (least) wall time of BENCH_RUNS runs (default
# 5) and the largest peak RSS, for commands short enough that one run is mostly noise from
# whatever else the machine does. Only for commands that do the same work every time.
measure_best() {
  local label=$1; shift
  local tf best="" rss=0 secs kb
  tf=$(mktemp)
  for _ in $(seq 1 "${BENCH_RUNS:-5}"); do
    /usr/bin/time -f "%e %M" -o "$tf" "$@" >/dev/null 2>"$tf.err" || { echo "$label failed:"; cat "$tf.err"; return 1; }
    read -r secs kb < "$tf"
    if [ -z "$best" ] || [ "$(echo "$secs < $best" | bc -l)" = 1 ]; then best=$secs; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  LAST_SECS=$best LAST_RSS_KB=$rss
  printf "%-28s %8.2f s   peak RSS %7.1f MiB   (best of %s)\n" "$label" "$LAST_SECS" "$(echo "$LAST_RSS_KB/1024" | bc -l)" "${BENCH_RUNS:-5}"
  rm -f "$tf" "$tf.err"
}

ratio() { echo "scale=2; $1 / $2" | bc -l; }

# make_installer_tarball OUT WORKDIR BASE_BYTES UKI_BYTES [GZIP_LEVEL]
# Writes an installer-shaped docker-save tarball (go-containerregistry names:
# config "sha256:<hex>", layers "<hex>.tar.gz", manifest.json last) of two
# gzip layers of random data. Leaves the blobs in WORKDIR/img.
make_installer_tarball() {
  local out=$1 work=$2 base=$3 uki=$4 level=${5:-6}
  mkdir -p "$work/l1/usr/bin" "$work/l2/usr/install/amd64" "$work/img"
  head -c "$base" /dev/urandom > "$work/l1/usr/bin/installer"
  head -c "$uki" /dev/urandom > "$work/l2/usr/install/amd64/vmlinuz.efi"
  head -c 200000 /dev/urandom > "$work/l2/usr/install/amd64/systemd-boot.efi"
  LAYERS=() ; local diffs=() l hex chex
  for l in l1 l2; do
    tar -C "$work/$l" -cf "$work/$l.tar" .
    diffs+=("sha256:$(sha256sum "$work/$l.tar" | cut -d' ' -f1)")
    gzip "-$level" -n -c "$work/$l.tar" > "$work/$l.gz"
    hex=$(sha256sum "$work/$l.gz" | cut -d' ' -f1)
    mv "$work/$l.gz" "$work/img/$hex.tar.gz"
    LAYERS+=("$hex.tar.gz")
    rm -rf "${work:?}/$l" "$work/$l.tar"
  done
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s","%s"]}}' "${diffs[@]}" > "$work/c.json"
  chex=$(sha256sum "$work/c.json" | cut -d' ' -f1)
  mv "$work/c.json" "$work/img/sha256:$chex"
  CONFIG_HEX=$chex
  printf '[{"Config":"sha256:%s","RepoTags":["installer:v1"],"Layers":["%s","%s"]}]' "$chex" "${LAYERS[@]}" > "$work/img/manifest.json"
  tar -C "$work/img" -cf "$out" "sha256:$chex" "${LAYERS[@]}" manifest.json
}
