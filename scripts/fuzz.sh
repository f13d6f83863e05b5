#!/usr/bin/env bash
# Builds (when needed) and runs one coverage-guided fuzz target (docs/fuzzing.md).
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]   run TARGET for SECONDS
#   scripts/fuzz.sh --build                               build every target
#   scripts/fuzz.sh --list                                list the targets
#
# The fuzzers live in their own clang build directory ($FUZZ_BUILD_DIR, default build-fuzz),
# with ASan and UBSan. A run starts from the seed corpus fuzz/corpus/TARGET (read only) and
# keeps what it finds in $FUZZ_BUILD_DIR/fuzz-work/TARGET/corpus; a crash, leak or timeout
# leaves its input in $FUZZ_BUILD_DIR/fuzz-work/TARGET/ and exits non-zero. Copy such an
# input into fuzz/corpus/TARGET/ once fixed: every run replays the seed corpus first.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
FUZZ_BUILD_DIR=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
TARGETS=$(sed -n '/^set(KEELSON_FUZZ_TARGETS/,/)/p' fuzz/CMakeLists.txt |
          sed 's/set(KEELSON_FUZZ_TARGETS//; s/)//' | tr -s ' \n' ' ')

configure() {
  if [ ! -f "$FUZZ_BUILD_DIR/build.ninja" ]; then
    CC=clang-14 CXX=clang++-14 cmake -S . -B "$FUZZ_BUILD_DIR" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKEELSON_FUZZ=ON >/dev/null
  fi
}

case "${1:-}" in
  --list) echo $TARGETS; exit 0 ;;
  --build)
    configure
    cmake --build "$FUZZ_BUILD_DIR" --target fuzzers -j "${JOBS:-$(nproc)}"
    exit 0 ;;
  ""|-h|--help) sed -n '2,12p' "$0"; exit 0 ;;
esac

TARGET=$1
SECONDS_TO_RUN=${2:-60}
shift 2 || shift $#
if ! grep -qw -- "$TARGET" <<<"$TARGETS"; then
  echo "fuzz.sh: unknown target '$TARGET' (targets: $TARGETS)" >&2
  exit 2
fi
configure
cmake --build "$FUZZ_BUILD_DIR" --target "fuzz_$TARGET" -j "${JOBS:-$(nproc)}" >/dev/null

WORK="$FUZZ_BUILD_DIR/fuzz-work/$TARGET"
mkdir -p "$WORK/corpus"
FLAGS=()
if [ -f "fuzz/$TARGET.options" ]; then
  while read -r flag; do
    [ -n "$flag" ] && [ "${flag:0:1}" != "#" ] && FLAGS+=("$flag")
  done <"fuzz/$TARGET.options"
fi
[ -f "fuzz/$TARGET.dict" ] && FLAGS+=("-dict=fuzz/$TARGET.dict")
SEEDS=()
[ -d "fuzz/corpus/$TARGET" ] && SEEDS+=("fuzz/corpus/$TARGET")

# Leaks are checked at the end of the run (LeakSanitizer); a crash or an invariant broken
# aborts; an input that runs longer than 10 s is a hang; more than 2.5 GB is a blow-up.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The targets that run a store keep it here (see fuzz/temp_dir.h).
SHM=/dev/shm
[ -d "$SHM" ] || SHM="$WORK"
export KEELSON_FUZZ_SCRATCH="$SHM/keelson-fuzz-$TARGET-$$"
trap 'rm -rf "$KEELSON_FUZZ_SCRATCH"' EXIT
set +e
"$FUZZ_BUILD_DIR/fuzz/$TARGET" -max_total_time="$SECONDS_TO_RUN" -timeout=10 \
  -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$WORK/" \
  "${FLAGS[@]}" "$@" "$WORK/corpus" "${SEEDS[@]}" 2>&1 | tee "$WORK/last.log" |
  grep -E '^(#[0-9]+ +(INITED|DONE)|==[0-9]+==|SUMMARY|invariant|stat::|Done|artifact_prefix|Test unit written)' 
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "fuzz.sh: $TARGET failed (exit $rc); the input is in $WORK/ (crash-*, leak-*, timeout-*," \
       "oom-*), the log in $WORK/last.log" >&2
  tail -n 60 "$WORK/last.log" >&2
fi
exit "$rc"
