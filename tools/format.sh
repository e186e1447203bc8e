#!/usr/bin/env bash
# Formats every tracked C++ file with the repo's .clang-format.
cd "$(dirname "$0")/.." && git ls-files '*.cc' '*.h' | xargs clang-format -i
