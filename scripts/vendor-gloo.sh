#!/usr/bin/env bash
# Copies the part of Gloo that rnn-native's self-contained prebuild compiles in (CMake
# RNN_GLOO=BUNDLED, scripts/prebuild.js) from a Gloo git checkout into native/third_party/gloo:
# the collectives we call (allreduce, broadcast, barrier), contexts, the rendezvous stores, and
# the TCP transport; no CUDA, MPI, ibverbs, libuv, Redis or TLS. Debian 12's libgloo-dev is
# built from commit 5b14351 (0.0~git20220518), so source builds against it and the prebuild
# run the same Gloo.
#
#   bash scripts/vendor-gloo.sh /path/to/gloo [commit]     (default commit: 5b14351)
set -euo pipefail
src="${1:?usage: vendor-gloo.sh /path/to/gloo-checkout [commit]}"
commit="${2:-5b14351}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/native/third_party/gloo"
full="$(git -C "$src" rev-parse "$commit^{commit}")"

rm -rf "$dest"
mkdir -p "$dest"
sources=(
  algorithm allreduce allreduce_local barrier broadcast context math types
  common/linux common/logging
  rendezvous/context rendezvous/file_store rendezvous/hash_store rendezvous/prefix_store rendezvous/store
  transport/address transport/buffer transport/context transport/device transport/pair transport/unbound_buffer
  transport/tcp/address transport/tcp/buffer transport/tcp/context transport/tcp/device transport/tcp/loop
  transport/tcp/pair transport/tcp/unbound_buffer
)
for f in "${sources[@]}"; do
  mkdir -p "$dest/gloo/$(dirname "$f")"
  git -C "$src" show "$full:gloo/$f.cc" > "$dest/gloo/$f.cc"
done
# Every header of those directories (headers are cheap; the .cc list above is what is built).
git -C "$src" ls-tree -r --name-only "$full" gloo | grep -E '\.h$' \
  | grep -Ev '/(cuda|nccl|mpi|hip|test|benchmark|examples)|/tcp/tls/|/uv/|/ibverbs/|redis_store|cuda|gloo/transport/tcp/tls' \
  | while read -r h; do
      mkdir -p "$dest/$(dirname "$h")"
      git -C "$src" show "$full:$h" > "$dest/$h"
    done
# config.h: version 0.5.0 (as Debian's), the TCP transport only.
git -C "$src" show "$full:gloo/config.h.in" | sed \
  -e 's/@GLOO_VERSION_MAJOR@/0/' -e 's/@GLOO_VERSION_MINOR@/5/' -e 's/@GLOO_VERSION_PATCH@/0/' \
  -e 's/#cmakedefine01 GLOO_HAVE_TRANSPORT_TCP$/#define GLOO_HAVE_TRANSPORT_TCP 1/' \
  -e 's/#cmakedefine01 \([A-Z_]*\)/#define \1 0/' > "$dest/gloo/config.h"
git -C "$src" show "$full:LICENSE" > "$dest/LICENSE"
# Our fixes, kept as patches beside the copy (native/third_party/patches): what g++ 12 and
# Debian 12's kernel headers need.
for p in "$root"/native/third_party/patches/*.patch; do
  patch -s -d "$dest" -p1 < "$p"
done
cat > "$dest/README.md" <<EOT
# Gloo (a subset), for the self-contained prebuild

Copied by \`scripts/vendor-gloo.sh\` from https://github.com/facebookincubator/gloo at commit
$full, the commit Debian 12's libgloo-dev (0.0~git20220518.5b14351) is built from. Unmodified
except \`gloo/config.h\`, generated from \`config.h.in\` for the TCP transport alone, and the
patches in \`../patches\` (\`gloo/common/linux.cc\`: the link-settings request of the interface
speed query laid out in one buffer, which g++ 12 with the linux-6.x headers requires).

Compiled only with CMake \`-DRNN_GLOO=BUNDLED\` (what \`scripts/prebuild.js\` uses), so that the
published addon carries Gloo linked in and needs nothing beyond glibc. Source builds link the
system's libgloo-dev instead. BSD-licensed: see LICENSE, shipped next to the prebuild.
EOT
echo "vendor-gloo: $(find "$dest" -name '*.cc' | wc -l) sources, $(find "$dest" -name '*.h' | wc -l) headers from $full"
