#!/bin/sh
# Makes the pinned Hyperledger Fabric binaries and config templates available under .fabric/.
#
#   scripts/install-fabric.sh            build (or reuse) peer, orderer, configtxgen, osnadmin, cryptogen
#   scripts/install-fabric.sh --force    rebuild even if the stamp says the pinned version is there
#
# Result: .fabric/bin/<tool>, .fabric/config/ (Fabric's sampleconfig: core.yaml, orderer.yaml,
# configtx.yaml, msp/), .fabric/VERSION (the stamp that lets a second run skip all work).
#
# Order of preference:
#   1. already there at the pinned version (stamp matches, every binary present);
#   2. built with the Go toolchain from the Fabric Go module at the pinned commit;
#   3. the official release archive, where a download host is reachable.
set -eu

# Pinned release: Fabric v3.1.1. The Fabric module path has no /v3 suffix, so Go can only
# address a v3 release by the pseudo-version of its commit. Later 3.1.x commits (v3.1.2 to
# v3.1.5) are not served by the Go module proxy reachable from our build machines, while
# v3.1.1's commit is; bump all three values together once a newer pseudo-version resolves.
FABRIC_VERSION=3.1.1
FABRIC_COMMIT=435a7f1a780a128756fb2f72bf4cad164bf13fbb
FABRIC_MODULE_VERSION=v1.4.0-rc1.0.20250510200036-435a7f1a780a
FABRIC_MODULE=github.com/hyperledger/fabric
GO_MIN_MINOR=24
TOOLS="peer orderer configtxgen osnadmin cryptogen"

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
FABRIC_HOME=${FABRIC_HOME:-$ROOT/.fabric}
BIN_DIR=$FABRIC_HOME/bin
CONFIG_DIR=$FABRIC_HOME/config
STAMP=$FABRIC_HOME/VERSION
STAMP_TEXT="fabric v$FABRIC_VERSION $FABRIC_COMMIT"

say() { printf '[install-fabric] %s\n' "$*"; }
fail() {
  printf '[install-fabric] error: %s\n' "$*" >&2
  exit 1
}

installed() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] || return 1
  for tool in $TOOLS; do
    [ -x "$BIN_DIR/$tool" ] || return 1
  done
  [ -f "$CONFIG_DIR/core.yaml" ] && [ -f "$CONFIG_DIR/orderer.yaml" ]
}

require_go() {
  command -v go >/dev/null 2>&1 ||
    fail "Go 1.$GO_MIN_MINOR+ is required to build Fabric: install Go from https://go.dev/dl and re-run"
  go_version=$(go env GOVERSION | sed 's/^go//')
  major=$(echo "$go_version" | cut -d. -f1)
  minor=$(echo "$go_version" | cut -d. -f2)
  if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt "$GO_MIN_MINOR" ]; }; then
    fail "Go 1.$GO_MIN_MINOR+ is required to build Fabric (found go$go_version): install Go from https://go.dev/dl and re-run"
  fi
}

ldflags() {
  echo "-X $FABRIC_MODULE/common/metadata.Version=$FABRIC_VERSION -X $FABRIC_MODULE/common/metadata.CommitSHA=$(echo "$FABRIC_COMMIT" | cut -c1-7)"
}

# go install pkg@version reads the module's version list for deprecation notices; some proxies
# refuse that list for Fabric, so a failure here is expected and handled by the fallback.
build_with_go_install() {
  pkgs=""
  for tool in $TOOLS; do
    pkgs="$pkgs $FABRIC_MODULE/cmd/$tool@$FABRIC_MODULE_VERSION"
  done
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  GOBIN=$BIN_DIR go install -ldflags "$(ldflags)" $pkgs
}

module_dir() {
  go mod download -json "$FABRIC_MODULE@$FABRIC_MODULE_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p'
}

# Builds inside the module source in the module cache, using the module's own go.mod and
# go.sum, which needs no version list.
build_from_module_cache() {
  pkgs=""
  for tool in $TOOLS; do
    pkgs="$pkgs ./cmd/$tool"
  done
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  (cd "$1" && GOBIN=$BIN_DIR GOFLAGS=-mod=mod go install -ldflags "$(ldflags)" $pkgs)
}

# Copies sampleconfig from the module source (the network scripts use it as templates).
copy_sampleconfig() {
  [ -d "$1/sampleconfig" ] || return 1
  rm -rf "$CONFIG_DIR"
  mkdir -p "$CONFIG_DIR"
  cp -R "$1/sampleconfig/." "$CONFIG_DIR/" && chmod -R u+w "$CONFIG_DIR"
}

# Returns non-zero on any failure (set -e does not apply inside an if condition).
build_with_go() {
  mkdir -p "$BIN_DIR"
  say "building $TOOLS from $FABRIC_MODULE@$FABRIC_MODULE_VERSION (Fabric v$FABRIC_VERSION); a first build takes a few minutes"
  say "downloading the module source"
  dir=$(module_dir) || return 1
  [ -n "$dir" ] && [ -d "$dir" ] || return 1
  if build_with_go_install 2>"$FABRIC_HOME/go-install.err"; then
    say "built with go install"
  else
    say "go install pkg@version failed ($(tail -n 1 "$FABRIC_HOME/go-install.err")); building inside the module source instead"
    build_from_module_cache "$dir" || return 1
    say "built from the module source"
  fi
  rm -f "$FABRIC_HOME/go-install.err"
  say "copying Fabric's sampleconfig to $CONFIG_DIR"
  copy_sampleconfig "$dir"
}

# Last resort: the release archive holds bin/ and config/. Returns non-zero on any failure.
download_release() {
  arch=$(uname -m)
  case $arch in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
  esac
  os=$(uname -s | tr '[:upper:]' '[:lower:]')
  url="https://github.com/hyperledger/fabric/releases/download/v$FABRIC_VERSION/hyperledger-fabric-$os-$arch-$FABRIC_VERSION.tar.gz"
  command -v curl >/dev/null 2>&1 || return 1
  say "trying the release archive $url"
  tmp=$(mktemp -d)
  if ! curl -fsSL --connect-timeout 5 --max-time 120 -o "$tmp/fabric.tar.gz" "$url"; then
    say "could not download the release archive (no route to the host, or it refused)"
    rm -rf "$tmp"
    return 1
  fi
  tar -xzf "$tmp/fabric.tar.gz" -C "$tmp" || return 1
  mkdir -p "$BIN_DIR" "$CONFIG_DIR"
  for tool in $TOOLS; do
    cp "$tmp/bin/$tool" "$BIN_DIR/$tool" || return 1
  done
  cp -R "$tmp/config/." "$CONFIG_DIR/" || return 1
  rm -rf "$tmp"
}

main() {
  if [ "${1:-}" != "--force" ] && installed; then
    say "Fabric v$FABRIC_VERSION is already installed in $FABRIC_HOME (delete $STAMP or pass --force to rebuild)"
    exit 0
  fi
  mkdir -p "$FABRIC_HOME"
  rm -f "$STAMP"
  start=$(date +%s)
  if command -v go >/dev/null 2>&1; then
    require_go
    if ! build_with_go; then
      say "the Go build failed (see the output above); trying the release archive"
      download_release || fail "could not build or download Fabric v$FABRIC_VERSION: check that the Go module proxy ($(go env GOPROXY)) serves $FABRIC_MODULE@$FABRIC_MODULE_VERSION"
    fi
  elif ! download_release; then
    require_go # says what to install
  fi
  for tool in $TOOLS; do
    [ -x "$BIN_DIR/$tool" ] || fail "$BIN_DIR/$tool is missing after the install"
  done
  echo "$STAMP_TEXT" >"$STAMP"
  say "Fabric v$FABRIC_VERSION ready in $BIN_DIR ($(($(date +%s) - start)) s): $("$BIN_DIR/peer" version | sed -n 's/^ *Version: //p')"
}

main "$@"
