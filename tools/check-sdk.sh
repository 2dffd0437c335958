#!/bin/sh
# Checks the installed SDK the way a third-party backend author uses it (what CI runs):
#   1. installs an already-built tree:   cmake --install BUILD --prefix $TMP/prefix
#   2. checks the SDK files and the pkg-config file (a program built with `pkg-config recur` runs)
#   3. configures and builds plugins/blas against that prefix only (-DCMAKE_PREFIX_PATH=$TMP/prefix),
#      and checks that no path into the source or build tree leaked into its build
#   4. runs its self-test, then  recur-conform /path/to/librecur-blas.so
#   5. RECUR_BACKEND=$plugin recur devices,  recur demo --backend $plugin
#   6. installs the plugin into the SDK's backend folder and finds it by name, also after moving the prefix
#
# usage: tools/check-sdk.sh BUILD_DIR
#   JOBS (default 2), WERROR (default 1: build the plugin with -Werror), KEEP=1 (keep the temporary folder)
# Exits non-zero on the first failure.
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
    echo "usage: $0 BUILD_DIR   (a configured and built recur tree)" >&2
    exit 2
fi
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$1" && pwd)
JOBS=${JOBS:-2}
WERROR=${WERROR:-1}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/recur-sdk.XXXXXX")
TMP=$(cd "$TMP" && pwd -P)
PREFIX=$TMP/prefix
PLUGBUILD=$TMP/build-blas
if [ "${KEEP:-0}" = 1 ]; then
    echo "check-sdk: keeping $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi
# Nothing from the caller's environment decides which backend runs.
unset RECUR_BACKEND RECUR_BACKEND_PATH RECUR_DEVICE

step() { printf '\n== check-sdk: %s\n' "$*"; }
fail() {
    printf '\ncheck-sdk: FAILED: %s\n' "$*" >&2
    exit 1
}
# run DESCRIPTION COMMAND...: runs it, fails with the description if it fails; output kept in $TMP/out
run() {
    what=$1
    shift
    if ! "$@" >"$TMP/out" 2>&1; then
        cat "$TMP/out"
        fail "$what (command: $*)"
    fi
    cat "$TMP/out"
}

step "install $BUILD into $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" 2>&1 || {
    cat "$TMP/install.log"
    fail "cmake --install"
}
CONFIG=$(find "$PREFIX" -name recurConfig.cmake | head -n 1)
PCFILE=$(find "$PREFIX" -name recur.pc | head -n 1)
[ -n "$CONFIG" ] || fail "no recurConfig.cmake installed (install(EXPORT) / configure_package_config_file missing?)"
[ -n "$PCFILE" ] || fail "no recur.pc installed"
for f in "$PREFIX/include/recur/backend.h" "$PREFIX/include/recur/recur.h" "$(dirname "$CONFIG")/recurConfigVersion.cmake" \
    "$(dirname "$CONFIG")/RecurPluginSDK.cmake" "$(dirname "$CONFIG")/recurTargets.cmake" "$PREFIX/bin/recur" \
    "$PREFIX/bin/recur-conform"; do
    [ -f "$f" ] || fail "the SDK lacks $f"
done
LIBRECUR=$(find "$PREFIX" -name 'librecur.so' | head -n 1)
[ -n "$LIBRECUR" ] || fail "no librecur.so installed"
LIBDIR=$(dirname "$LIBRECUR")
echo "SDK: $CONFIG, $PCFILE, $LIBRECUR"

step "pkg-config recur"
PKG_CONFIG_PATH="$(dirname "$PCFILE")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
run "pkg-config --cflags --libs recur" pkg-config --cflags --libs recur
BACKENDDIR=$(pkg-config --variable=backenddir recur)
[ "$(cd "$BACKENDDIR" && pwd -P)" = "$(cd "$LIBDIR/recur" && pwd -P)" ] ||
    fail "pkg-config backenddir '$BACKENDDIR' is not $LIBDIR/recur"
cat >"$TMP/pc_test.c" <<'EOF'
#include <stdio.h>
#include <recur/recur.h>
int main(void) {
    printf("built with pkg-config: recur %s, ABI %d.%d; %s\n", RECUR_VERSION_STRING, RECUR_ABI_MAJOR,
           RECUR_ABI_MINOR, recur_strerror(RECUR_E_ABI));
    return 0;
}
EOF
# shellcheck disable=SC2046  # word splitting of pkg-config output is intended
run "a program built with pkg-config recur" "${CC:-cc}" -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags recur) \
    "$TMP/pc_test.c" -o "$TMP/pc_test" $(pkg-config --libs recur) "-Wl,-rpath,$LIBDIR"
run "running the pkg-config program" "$TMP/pc_test"

step "configure and build plugins/blas against $PREFIX only"
CFLAGS_EXTRA=""
[ "$WERROR" = 1 ] && CFLAGS_EXTRA="-Werror"
run "configuring plugins/blas" cmake -S "$SRC/plugins/blas" -B "$PLUGBUILD" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="$CFLAGS_EXTRA"
FOUND_DIR=$(sed -n 's/^recur_DIR:PATH=//p' "$PLUGBUILD/CMakeCache.txt")
case "$FOUND_DIR" in
"$PREFIX"/*) echo "recur_DIR = $FOUND_DIR" ;;
*) fail "find_package(recur) found '$FOUND_DIR', not the SDK under $PREFIX" ;;
esac
run "building plugins/blas" cmake --build "$PLUGBUILD" -j "$JOBS"
if grep -rlF -e "$SRC/include" -e "$BUILD/" "$PLUGBUILD" --include=flags.make --include=link.txt \
    --include=build.make >"$TMP/leaks" 2>/dev/null; then
    cat "$TMP/leaks"
    fail "the plugin build uses paths into the source or build tree (see the files above)"
fi
PLUGIN=$(find "$PLUGBUILD" -name librecur-blas.so | head -n 1)
[ -n "$PLUGIN" ] || fail "no librecur-blas.so was built"
EXPORTS=$(nm -D --defined-only "$PLUGIN" | awk '{ print $NF }')
[ "$EXPORTS" = recur_backend_entry ] || fail "the plugin must export only recur_backend_entry, it exports: $EXPORTS"
echo "plugin: $PLUGIN (exports: $EXPORTS)"

step "self-test (ctest in the plugin's build)"
run "ctest in $PLUGBUILD" ctest --test-dir "$PLUGBUILD" --output-on-failure

step "recur-conform $PLUGIN"
run "the conformance kit" "$PREFIX/bin/recur-conform" "$PLUGIN"

step "RECUR_BACKEND=\$plugin recur devices"
# `recur devices` lists every plugin in the search folders: RECUR_BACKEND_PATH adds the plugin's.
run "recur devices" env RECUR_BACKEND="$PLUGIN" RECUR_BACKEND_PATH="$(dirname "$PLUGIN")" "$PREFIX/bin/recur" devices
grep -q "^blas " "$TMP/out" || fail "recur devices does not list the blas backend"

step "recur demo --backend \$plugin"
run "recur demo --backend $PLUGIN" "$PREFIX/bin/recur" demo --backend "$PLUGIN"
run "RECUR_BACKEND=\$plugin recur demo" env RECUR_BACKEND="$PLUGIN" "$PREFIX/bin/recur" demo

step "a seed task trains on the plugin, and it shows up in recur bench"
run "recur train sentiment --backend \$plugin" "$PREFIX/bin/recur" train sentiment --backend "$PLUGIN" --epochs 2 \
    --save "$TMP/sentiment.safetensors"
run "recur bench --quick --backend \$plugin --json" "$PREFIX/bin/recur" bench --quick --backend "$PLUGIN" --json
grep -q '"name":"blas"' "$TMP/out" || fail "recur bench --json does not report the blas backend"

step "install the plugin into the SDK's backend folder and load it by name"
run "cmake --install $PLUGBUILD" cmake --install "$PLUGBUILD"
[ -f "$LIBDIR/recur/librecur-blas.so" ] || fail "the plugin was not installed into $LIBDIR/recur"
run "recur devices (installed plugin)" "$PREFIX/bin/recur" devices
grep -q "^blas .*$LIBDIR/recur/librecur-blas.so" "$TMP/out" || fail "recur devices does not find the installed blas plugin"
run "recur demo --backend blas" "$PREFIX/bin/recur" demo --backend blas

step "move the SDK: librecur still finds its plugins"
mv "$PREFIX" "$TMP/moved"
run "recur demo --backend blas (moved prefix)" "$TMP/moved/bin/recur" demo --backend blas
mv "$TMP/moved" "$PREFIX"

printf '\ncheck-sdk: OK (SDK installed, plugins/blas built against it, conformance passed)\n'
