#!/usr/bin/env bash
# The newcomer's first hour, scripted: clone this repository's HEAD into a temporary directory
# and run the README's commands as written, with only Node (and npm) on PATH.
#   scripts/fresh-clone.sh [NODE_BINARY]     (default: the node on PATH)
#   FRESH_CLONE_TESTS=smoke runs a subset of the suite instead of all of it (see .ci/run).
# Checks: `npm install && npm start` serves and prints both configs; after `npm install -g .` the
# bins are on PATH and the README's futucli commands work; the printed Claude Desktop command
# starts the installed futu-mcp; `npm test` passes. Run by .ci/run on each tested Node.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
node_bin="$(command -v "${1:-node}")"
work="$(mktemp -d)"
# npm start runs in a process group of its own: stopping it stops the server npm started, not just npm.
stop_server() { [ -n "${server_pid:-}" ] && { kill -- "-$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""; }; return 0; }
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "fresh-clone: FAIL: $*" >&2; exit 1; }

# The user's npm cache (read before HOME moves) keeps reinstalls off the network.
export npm_config_cache="${npm_config_cache:-$(npm config get cache 2>/dev/null || echo "$work/npm-cache")}"
export PATH="$(dirname "$node_bin"):$work/global/bin:$PATH"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_STATE_HOME="$work/home/.local/state"
mkdir -p "$HOME"
echo "== fresh clone on Node $(node --version) =="
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"

# README: npm install && npm start
npm install --no-audit --no-fund >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "npm install"; }
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
FUTU_MCP_DEMO_LISTEN="127.0.0.1:$port" setsid npm start >"$work/start.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do grep -q 'Stop with Ctrl-C' "$work/start.log" && break; sleep 0.5; done
grep -q "MCP endpoint   http://127.0.0.1:$port/mcp" "$work/start.log" || { cat "$work/start.log"; fail "npm start printed no endpoint"; }
grep -q 'demo-analyst' "$work/start.log" && grep -q 'demo-trader' "$work/start.log" || fail "npm start did not print both keys"
ready() { node -e "fetch('http://127.0.0.1:$port/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; }
ready || fail "/readyz after npm start"
stop_server
for _ in $(seq 1 20); do ready || break; sleep 0.5; done
ready && fail "npm start's server outlived it"

# README: put the bins on PATH, then the Keys section's commands as written.
npm install -g --prefix "$work/global" . >"$work/global.log" 2>&1 || { cat "$work/global.log"; fail "npm install -g ."; }
for bin in futu-mcp futucli futu-sim; do
  [ "$(command -v "$bin")" = "$work/global/bin/$bin" ] || fail "$bin is not on PATH after npm install -g ."
  "$bin" --version >/dev/null || fail "$bin --version"
done
futucli gen-key --id claude-analyst --scopes qot:read,acc:read --expires 90d --bind-this-machine >/dev/null
futucli gen-key --id claude-bot --scopes qot:read,acc:read,trade:simulate \
  --allowed-markets HK,US --max-order-value 50000 --max-orders-per-minute 3 >/dev/null
futucli list-keys | grep -q claude-bot || fail "futucli list-keys"
futucli machine-id --for-key claude-bot >/dev/null
# The printed Claude Desktop command starts the installed futu-mcp (its --help, so nothing listens).
config="$(futucli -o json gen-key --id desktop --scopes qot:read)"
command="$(node -e 'const c=JSON.parse(process.argv[1]).claude_desktop_config.mcpServers.futu;console.log(c.command)' "$config")"
script="$(node -e 'const c=JSON.parse(process.argv[1]).claude_desktop_config.mcpServers.futu;console.log(c.args[0])' "$config")"
"$command" "$script" --help | grep -q -- '--audit-log' || fail "the printed config does not start futu-mcp"
futucli revoke-key claude-bot >/dev/null

# README: npm test (a smoke subset when asked: unit tests plus one stdio and one HTTP end-to-end file)
tests=()
[ "${FRESH_CLONE_TESTS:-all}" = smoke ] && tests=(-- shared/ keys/ authz/engine authz/builder mcp/transport e2e/tools e2e/multikey)
npm test "${tests[@]}" </dev/null >"$work/test.log" 2>&1 || { tail -80 "$work/test.log"; fail "npm test ${tests[*]}"; }
grep -E '^(ℹ|#) (tests|pass|fail|skipped) ' "$work/test.log" || true
echo "fresh-clone: OK on Node $(node --version)"
