#!/usr/bin/env bash
# Runs every cargo-fuzz target of devlic for a bounded time, one after the other (one core each),
# and turns whatever they find into regression inputs that plain `cargo test` replays:
#   spec_load            -> crates/spec/tests/data/fuzz-regressions/spec_load/<name>
#   spec_yaml_structured -> crates/spec/tests/data/fuzz-regressions/spec_yaml_structured/<name>/f*.yaml
#                           (the rendered YAML, since the raw input only means something to `arbitrary`)
#   graph_wire           -> crates/graph/tests/data/fuzz-regressions/graph_wire/<name>
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Not part of CI: CI
# runs the proptest versions of these checks (tests/it/hostile.rs of devlic-spec and devlic-graph)
# and the regression inputs on stable.
# Exit status: 0 when no target found anything, 1 when at least one crash, timeout or OOM was
# saved (fix it, keep the saved input, commit both).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(spec_load spec_yaml_structured graph_wire)
fi
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz on the nightly toolchain is required: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 2
fi

# Build output stays out of the main workspace's target dir (its own lock, its own flags).
target_dir="${CARGO_TARGET_DIR:-$root/fuzz/target}"
# Rust is memory safe here (`unsafe_code = "forbid"`), so AddressSanitizer would mostly cost
# speed; overflow checks and debug assertions stay on (cargo-fuzz's default).
sanitizer="${FUZZ_SANITIZER:-none}"

found=0
summary=()
for t in "${targets[@]}"; do
  case "$t" in
    spec_load) max_len=65536; dict=fuzz/spec.dict; data=crates/spec/tests/data/fuzz-regressions ;;
    spec_yaml_structured) max_len=8192; dict=; data=crates/spec/tests/data/fuzz-regressions ;;
    graph_wire) max_len=65536; dict=fuzz/graph_wire.dict; data=crates/graph/tests/data/fuzz-regressions ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  corpus="fuzz/corpus/$t"
  artifacts="fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  # Seeds: the committed ones, the example specs, and every regression input kept so far.
  if [ -d "fuzz/seeds/$t" ]; then cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true; fi
  if [ "$t" = spec_load ]; then
    find examples -name '*.yaml' -o -name '*.yml' | while read -r f; do
      cp -n "$f" "$corpus/example-$(echo "$f" | tr '/' '_')"
    done
  fi
  if [ "$t" != spec_yaml_structured ] && [ -d "$data/$t" ]; then
    cp -n "$data/$t"/* "$corpus"/ 2>/dev/null || true
  fi
  before=$(find "$artifacts" -type f | wc -l)
  log="fuzz/artifacts/$t.log"
  args=(-max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=20
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  if [ -n "$dict" ]; then args+=(-dict="$dict"); fi
  echo "== $t: ${seconds}s, max_len $max_len"
  set +e
  cargo +nightly fuzz run --sanitizer "$sanitizer" --target-dir "$target_dir" \
    --fuzz-dir fuzz "$t" "$corpus" -- "${args[@]}" 2>&1 | tee "$log" | grep -E '^(#[0-9]+ +(INITED|DONE)|==[0-9]+== ERROR|SUMMARY|thread .* panicked)' || true
  set -e
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
  rate=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
  after=$(find "$artifacts" -type f | wc -l)
  summary+=("$t: ${seconds}s, ${execs:-?} executions (${rate:-?}/s), corpus $(find "$corpus" -type f | wc -l) inputs, $((after - before)) new finding(s)")

  # Keep every finding as a regression input.
  for a in "$artifacts"/*; do
    [ -f "$a" ] || continue
    name="$(basename "$a")"
    if [ "$t" = spec_yaml_structured ]; then
      dest="$data/$t/$name"
      [ -d "$dest" ] && continue
      mkdir -p "$dest"
      # Re-run the input once with rendering switched on to keep the YAML it produced.
      DEVLIC_FUZZ_RENDER_TO="$dest" cargo +nightly fuzz run --sanitizer "$sanitizer" \
        --target-dir "$target_dir" --fuzz-dir fuzz "$t" "$a" >/dev/null 2>&1 || true
    else
      mkdir -p "$data/$t"
      [ -e "$data/$t/$name" ] || cp "$a" "$data/$t/$name"
    fi
    # Kept in the regression folder now; removing it here means the next run reports only new
    # findings.
    rm -f "$a"
    found=1
  done
done

echo
printf '%s\n' "${summary[@]}"
if [ "$found" -ne 0 ]; then
  echo "findings were copied into crates/*/tests/data/fuzz-regressions/: fix them, then commit the inputs with the fix" >&2
  exit 1
fi
