#!/usr/bin/env bash
# Runs `npm test` on Node.js 24 LTS as well as on the machine's Node: the npm registry's `node` package
# brings Node 24 with its headers, better-sqlite3 is compiled for it, the suite runs, and then
# better-sqlite3 is compiled again for the machine's Node (set KEEP_NODE24_BUILD=1 to skip that, as CI
# does when nothing runs after it). Usage: npm run test:node24
#
# better-sqlite3 12 (the last major that runs on Node 20) compiled against the headers of Node 24.19 or
# later aborts the process at exit ("Assertion failed: (env) != nullptr" in RemoveEnvironmentCleanupHook,
# nodejs/node#65446): those headers register an ObjectWrap cleanup hook the runtime cannot remove during
# teardown. Compiled against Node 24.18.1's headers it runs cleanly on every 24.x, so the addon is built
# with those and the suite runs on the newest Node 24.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${NODE24_CACHE:-$PWD/.cache}"
HEADERS_VERSION=24.18.1

# Installs node@$1 into $cache/node-$1 once; prints the directory with bin/node and include/.
node_home() {
  local dir="$cache/node-$1"
  if ! ls -d "$dir"/node_modules/node/node_modules/node-linux-* >/dev/null 2>&1; then
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node@$1" >&2
  fi
  ls -d "$dir"/node_modules/node/node_modules/node-linux-* | head -1
}

runtime="$(node_home 24)"
headers="$(node_home "$HEADERS_VERSION")"
echo "Node $("$runtime/bin/node" --version) (better-sqlite3 built against $HEADERS_VERSION's headers)"
restore() {
  [ "${KEEP_NODE24_BUILD:-0}" = 1 ] && return
  echo "compiling better-sqlite3 again for $(node --version)"
  npm rebuild better-sqlite3
}
trap restore EXIT
PATH="$headers/bin:$PATH" npm rebuild better-sqlite3 --nodedir="$headers"
PATH="$runtime/bin:$PATH" npm test
