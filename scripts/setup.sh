#!/usr/bin/env bash
# Installs everything safescan needs on a Debian machine, installs the nsfwjs models, and
# builds. Idempotent: a second run only checks and rebuilds what changed.
#
#   scripts/setup.sh              # packages + models + Release build in ./build
#   BUILD_DIR=out scripts/setup.sh
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release),
# SAFESCAN_HOME (models go to $SAFESCAN_HOME/models; default ~/.local/share/safescan),
# SAFESCAN_SKIP_BUILD=1 to stop after packages and models.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BUILD_TYPE="${BUILD_TYPE:-Release}"
NSFWJS_VERSION="4.4.0"
# The registry's integrity of nsfwjs-4.4.0.tgz; npm pack checks it, and so do we.
NSFWJS_INTEGRITY="sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA=="

say() { printf 'setup: %s\n' "$*" >&2; }

# --- 1. Debian packages ------------------------------------------------------------------
PACKAGES=(
  build-essential cmake pkg-config ccache git ca-certificates
  libtorch-dev libopenblas0-openmp libopenblas-openmp-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libtiff-dev libssl-dev
  zlib1g-dev libicu-dev libcurl4-openssl-dev
  libsqlite3-dev libarchive-dev libopencv-dev libdlib-dev
  libopenmpi-dev openmpi-bin libcpp-httplib-dev libtomlplusplus-dev chromium
  clang libclang-rt-14-dev
)
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libtorch must use the OpenMP OpenBLAS: the reference BLAS is ~40x slower and the pthreads
# build fights libtorch's OpenMP threads.
for lib in libblas.so.3 liblapack.so.3; do
  alt="/usr/lib/x86_64-linux-gnu/openblas-openmp/$lib"
  if [ -e "$alt" ] && [ "$(readlink -f "/usr/lib/x86_64-linux-gnu/$lib")" != "$(readlink -f "$alt")" ]; then
    say "selecting OpenMP OpenBLAS for $lib"
    ${SUDO:-} update-alternatives --set "$lib-x86_64-linux-gnu" "$alt" >/dev/null
  fi
done

# --- 2. The nsfwjs models -------------------------------------------------------------------
SAFESCAN_HOME="${SAFESCAN_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/safescan}"
MODELS_DIR="$SAFESCAN_HOME/models"
models_ok() {
  for m in nsfw-mobilenet-v2 nsfw-mobilenet-v2-mid nsfw-inception-v3; do
    grep -q "\"nsfwjs@$NSFWJS_VERSION\"" "$MODELS_DIR/$m/safescan-model.json" 2>/dev/null || return 1
  done
}
install_models() {
  local work
  work="$(mktemp -d)"
  say "fetching nsfwjs@$NSFWJS_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "nsfwjs@$NSFWJS_VERSION" >/dev/null)
  local tgz="$work/nsfwjs-$NSFWJS_VERSION.tgz"
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$NSFWJS_INTEGRITY" ]; then
    say "nsfwjs-$NSFWJS_VERSION.tgz has integrity $got, expected $NSFWJS_INTEGRITY"
    rm -rf "$work"
    exit 1
  fi
  tar -xzf "$tgz" -C "$work"
  mkdir -p "$MODELS_DIR"
  node "$ROOT/scripts/install-nsfwjs-models.cjs" "$work/package" "$MODELS_DIR" >&2
  rm -rf "$work"
}
models_ok || install_models

# --- 2b. Front-end packages: Chart.js (bundled into audit cards) and playwright-core (the
# browser tests drive Debian's chromium). Versions and integrity come from web/package-lock.json.
if ! (cd "$ROOT/web" && npm ls --silent >/dev/null 2>&1); then
  say "installing the npm packages of web/ (npm ci)"
  (cd "$ROOT/web" && npm ci --silent --no-audit --no-fund >/dev/null)
fi

# --- 3. Build ------------------------------------------------------------------------------
if [ "${SAFESCAN_SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    say "configuring $BUILD_DIR ($BUILD_TYPE)"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
  fi
  say "building (this takes a few minutes the first time)"
  if ! cmake --build "$BUILD_DIR" -j"$(nproc)" >"$BUILD_DIR/build.log" 2>&1; then
    grep -E -A5 "error|Error" "$BUILD_DIR/build.log" | head -60 >&2
    say "build failed; the full log is $BUILD_DIR/build.log"
    exit 1
  fi
  # The installed files must match the checksums recorded at install time; reinstall if not.
  if ! "$BUILD_DIR/safescan" models verify nsfw-mobilenet-v2 nsfw-mobilenet-v2-mid nsfw-inception-v3 >&2; then
    say "model files damaged: reinstalling"
    install_models
    "$BUILD_DIR/safescan" models verify nsfw-mobilenet-v2 nsfw-mobilenet-v2-mid nsfw-inception-v3 >&2
  fi
fi

# --- 4. The YuNet face detector (optional: without it `faces` uses dlib's HOG detector) ------
# The catalogue pins its sha256; a copy in ../shared (the team's fixtures) is imported when it
# matches, otherwise it is downloaded, and if neither works the scan falls back to HOG.
if [ "${SAFESCAN_SKIP_BUILD:-0}" != 1 ] && [ ! -d "$MODELS_DIR/yunet" ]; then
  YUNET_SHA="ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
  local_yunet="$ROOT/../shared/models/faces/face_detection_yunet.onnx"
  if [ -f "$local_yunet" ] && [ "$(sha256sum "$local_yunet" | cut -d' ' -f1)" = "$YUNET_SHA" ]; then
    say "installing YuNet from $local_yunet"
    "$BUILD_DIR/safescan" models import "$local_yunet" --name yunet >&2 || say "YuNet import failed: faces will use HOG"
  else
    "$BUILD_DIR/safescan" models pull yunet >&2 || say "YuNet could not be downloaded: faces will use dlib's HOG detector"
  fi
fi
say "done. Try: $BUILD_DIR/safescan scan ../shared/images --db scan.db"
