#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, checks formatting, builds,
# runs unit and integration tests, then the same against the ASan+UBSan build and the TSan build.
# Usage: tools/test.sh [--fast]   (--fast skips the sanitizer builds)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash tools/setup.sh

echo "== clang-format check"
mapfile -t srcs < <(git ls-files '*.cc' '*.h' | grep -v '^third_party/')
if ! clang-format --dry-run --Werror "${srcs[@]}" 2>/tmp/pf-format.log; then
  head -40 /tmp/pf-format.log
  echo "clang-format: files above need formatting (run tools/format.sh)"
  exit 1
fi

echo "== shellcheck"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
shellcheck "${scripts[@]}"

echo "== build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j"$jobs"

echo "== tests"
(cd build && ctest --output-on-failure -j1 --timeout 600)

if [ "${1:-}" != "--fast" ]; then
  echo "== ASan+UBSan build"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPF_SANITIZE=address,undefined \
    -DPF_BUILD_BENCH=OFF >/dev/null
  ninja -C build-asan -j"$jobs"
  echo "== ASan+UBSan tests"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j1 --timeout 900)

  # The threaded parts (workers, main thread, stats merging, access-log writers, shared outlier
  # and breaker state) under TSan. tools/tsan.supp lists what cannot be checked and why.
  echo "== TSan build"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPF_SANITIZE=thread \
    -DPF_BUILD_BENCH=OFF >/dev/null
  ninja -C build-tsan -j"$jobs"
  echo "== TSan tests"
  (cd build-tsan && TSAN_OPTIONS="suppressions=$PWD/../tools/tsan.supp halt_on_error=1 abort_on_error=1" \
    ctest --output-on-failure -j1 --timeout 900)
fi
echo "all tests passed"
