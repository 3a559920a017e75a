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

ratio() { echo "scale=2; $1 / $2" | bc -l; }
