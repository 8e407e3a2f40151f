#!/usr/bin/env bash
# Install built tools with their shell completions and man pages: install.sh PREFIX BUILD_DIR
# (`make install` builds, then runs this; docgen, built with the tools, lists them and writes
# the completions and man pages from the same clap definitions the binaries parse with).
set -euo pipefail
prefix=${1:?usage: install.sh PREFIX BUILD_DIR}
dir=${2:?usage: install.sh PREFIX BUILD_DIR}
[[ -x "$dir/docgen" ]] || { echo "install: no $dir/docgen; build first (make install builds)" >&2; exit 2; }
bins=$("$dir/docgen" bins)
install -d "$prefix/bin"
for bin in $bins; do install -m 755 "$dir/$bin" "$prefix/bin/"; done
"$dir/docgen" write "$prefix"
echo "installed" $bins "with completions and man pages under $prefix" >&2
