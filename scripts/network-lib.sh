# Shared definitions for scripts/network.sh: where things live, which port each node uses,
# how a node is started, stopped and probed, and how the admin tools are called.
# Sourced, not run; expects ROOT (the repository root) to be set.
# shellcheck shell=sh disable=SC2034 # the variables below are used by scripts/network.sh

FABRIC_HOME=${FABRIC_HOME:-$ROOT/.fabric}
FABRIC_BIN=$FABRIC_HOME/bin
FABRIC_CONFIG=$FABRIC_HOME/config

NET_DIR=${FEDLEDGER_NETWORK_DIR:-$ROOT/.fedledger/network}
case $NET_DIR in
  /*) ;;
  *) NET_DIR=$(pwd)/$NET_DIR ;;
esac
CRYPTO_DIR=$NET_DIR/crypto
CFG_DIR=$NET_DIR/config
LOG_DIR=$NET_DIR/logs
RUN_DIR=$NET_DIR/run
DATA_DIR=$NET_DIR/data
GENESIS_BLOCK=$NET_DIR/channel/genesis.block
CONNECTION_PROFILE=$NET_DIR/connection.json
# Info, except the per-request lines of the BFT request pool and of gRPC's transport, which cost
# CPU under load and say nothing an operator needs.
LOG_SPEC=${FEDLEDGER_LOG_SPEC:-info:grpc=warning:orderer.consensus.smartbft.consensus=warning}
CC_LOG_LEVEL=${FEDLEDGER_CHAINCODE_LOG_LEVEL:-warning}

CHANNEL=fedledger
CC_NAME=fedledger
CC_VERSION=1.0
CC_SEQUENCE=1
CC_LABEL=${CC_NAME}_$CC_VERSION
CC_DIR=$NET_DIR/chaincode
CC_PACKAGE=$CC_DIR/$CC_LABEL.tar.gz
CC_PACKAGE_ID_FILE=$CC_DIR/package-id

DOMAIN=fedledger.test
ORDERER_ORG_DIR=$CRYPTO_DIR/ordererOrganizations/orderer.$DOMAIN

# The port base of a network that exists wins over the environment, so that status and down
# find the nodes that up started.
PORT_BASE=${FEDLEDGER_PORT_BASE:-27050}
if [ -f "$NET_DIR/port-base" ]; then
  PORT_BASE=$(cat "$NET_DIR/port-base")
fi
case $PORT_BASE in
  '' | *[!0-9]*) printf '[network] error: FEDLEDGER_PORT_BASE must be a number (got "%s")\n' "$PORT_BASE" >&2 && exit 1 ;;
esac
if [ "$PORT_BASE" -lt 1024 ] || [ "$PORT_BASE" -gt 65400 ]; then
  printf '[network] error: FEDLEDGER_PORT_BASE must lie between 1024 and 65400 (got %s)\n' "$PORT_BASE" >&2
  exit 1
fi

say() { printf '[network] %s\n' "$*"; }
fail() {
  printf '[network] error: %s\n' "$*" >&2
  exit 1
}
STARTED_AT=$(date +%s)
step() {
  n=$1
  shift
  printf '[network] step %s/%s (+%ss): %s\n' "$n" "$STEPS" "$(($(date +%s) - STARTED_AT))" "$*"
}

# --- ports (see network/README.md) ------------------------------------------------------------

# The number K of hospitalK, or nothing for another name.
hospital_number() {
  case $1 in
    hospital[1-9] | hospital[1-9][0-9]) echo "${1#hospital}" ;;
  esac
}

# Hospitals 1-3 and the auditor keep the three-hospital layout (+30…+33, +40…+43, +50…+53);
# hospital K ≥ 4 has a block of three ports from +100: gRPC +100+3(K-4), chaincode +1, operations +2.
org_index() {
  case $1 in
    auditor) echo 3 ;;
    *)
      k=$(hospital_number "$1")
      [ -n "$k" ] && [ "$k" -le "$HOSPITAL_COUNT" ] || fail "unknown peer organisation '$1'"
      if [ "$k" -le 3 ]; then echo $((k - 1)); else echo $((100 + 3 * (k - 4))); fi
      ;;
  esac
}
orderer_port() { echo $((PORT_BASE + $1 - 1)); }
orderer_admin_port() { echo $((PORT_BASE + 10 + $1 - 1)); }
orderer_ops_port() { echo $((PORT_BASE + 20 + $1 - 1)); }
peer_port() {
  i=$(org_index "$1")
  if [ "$i" -lt 100 ]; then echo $((PORT_BASE + 30 + i)); else echo $((PORT_BASE + i)); fi
}
peer_cc_port() {
  i=$(org_index "$1")
  if [ "$i" -lt 100 ]; then echo $((PORT_BASE + 40 + i)); else echo $((PORT_BASE + i + 1)); fi
}
peer_ops_port() {
  i=$(org_index "$1")
  if [ "$i" -lt 100 ]; then echo $((PORT_BASE + 50 + i)); else echo $((PORT_BASE + i + 2)); fi
}
chaincode_port() { echo $((PORT_BASE + 60)); }

record_layout() {
  echo "$PORT_BASE" >"$NET_DIR/port-base"
  echo "$HOSPITAL_COUNT" >"$NET_DIR/hospitals"
  [ "$HOSTS_MODE" -eq 0 ] || echo "$NETNS_PREFIX $HOSTS_SUBNET" >"$NET_DIR/hosts"
}


# --- identities -------------------------------------------------------------------------------

org_msp() {
  case $1 in
    auditor) echo AuditorMSP ;;
    coordinator) echo CoordinatorMSP ;;
    *)
      k=$(hospital_number "$1")
      [ -n "$k" ] || fail "unknown organisation '$1'"
      echo "Hospital${k}MSP"
      ;;
  esac
}
org_dir() { echo "$CRYPTO_DIR/peerOrganizations/$1.$DOMAIN"; }
peer_dir() { echo "$(org_dir "$1")/peers/peer0.$1.$DOMAIN"; }
peer_tls_root() { echo "$(peer_dir "$1")/tls/ca.crt"; }
orderer_dir() { echo "$ORDERER_ORG_DIR/orderers/orderer$1.orderer.$DOMAIN"; }
orderer_tls_root() { echo "$ORDERER_ORG_DIR/tlsca/tlsca.orderer.$DOMAIN-cert.pem"; }
orderer_admin_tls() { echo "$ORDERER_ORG_DIR/users/Admin@orderer.$DOMAIN/tls"; }

# Runs a command as the organisation's admin, talking to the organisation's peer.
as_admin() {
  org=$1
  shift
  # shellcheck disable=SC2046 # on_host prints separate words
  $(on_host "$org") env FABRIC_CFG_PATH="$CFG_DIR" FABRIC_LOGGING_SPEC=warning \
    CORE_PEER_LOCALMSPID="$(org_msp "$org")" \
    CORE_PEER_MSPCONFIGPATH="$(org_dir "$org")/users/Admin@$org.$DOMAIN/msp" \
    CORE_PEER_ADDRESS="$(node_ip "$org"):$(peer_port "$org")" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_ROOTCERT_FILE="$(peer_tls_root "$org")" \
    "$@"
}

# Arguments that point a peer CLI command at orderer1 over TLS.
orderer_args() {
  echo "-o $(node_ip orderer1):$(orderer_port 1) --tls --cafile $(orderer_tls_root)"
}

osnadmin_cmd() {
  i=$1
  shift
  tls=$(orderer_admin_tls)
  # shellcheck disable=SC2046 # on_host prints separate words
  $(on_host orderer) "$FABRIC_BIN/osnadmin" "$@" -o "$(node_ip orderer):$(orderer_admin_port "$i")" --ca-file "$(orderer_tls_root)" \
    --client-cert "$tls/client.crt" --client-key "$tls/client.key"
}

# --- node processes ---------------------------------------------------------------------------

valid_node() {
  for node in $ALL_NODES; do
    [ "$node" = "${1:-}" ] && return 0
  done
  return 1
}

pid_file() { echo "$RUN_DIR/$1.pid"; }

# Prints the pid of the node's process if it is alive (and is still what we started).
node_pid() {
  file=$(pid_file "$1")
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  if [ -r "/proc/$pid/cmdline" ]; then
    # A recycled pid belongs to some other program: treat the node as stopped.
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$(node_command_marker "$1")" || return 0
  fi
  echo "$pid"
}

node_command_marker() {
  case $1 in
    orderer*) echo "$FABRIC_BIN/orderer" ;;
    peer0.*) echo "$FABRIC_BIN/peer" ;;
    chaincode) echo "supervise-chaincode" ;;
  esac
}

node_address() {
  case $1 in
    orderer*) echo "$(node_ip "$1"):$(orderer_port "${1#orderer}")" ;;
    peer0.*) echo "$(node_ip "$1"):$(peer_port "${1#peer0.}")" ;;
    chaincode) echo "$(node_ip chaincode):$(chaincode_port)" ;;
  esac
}

# Starts a process in its own session (so that a Ctrl-C on the caller does not reach it), with
# its output appended to the node's log and its pid recorded.
spawn() {
  node=$1
  shift
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  printf '\n=== %s started by scripts/network.sh at %s ===\n' "$node" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$LOG_DIR/$node.log"
  # shellcheck disable=SC2046 # on_host prints separate words
  setsid $(on_host "$node") "$@" </dev/null >>"$LOG_DIR/$node.log" 2>&1 &
  echo $! >"$(pid_file "$node")"
}

start_orderer() {
  i=$1
  dir=$(orderer_dir "$i")
  data=$DATA_DIR/orderer$i
  mkdir -p "$data"
  spawn "orderer$i" env FABRIC_CFG_PATH="$CFG_DIR" FABRIC_LOGGING_SPEC="$LOG_SPEC" \
    ORDERER_GENERAL_LISTENADDRESS="$(node_ip orderer)" \
    ORDERER_GENERAL_LISTENPORT="$(orderer_port "$i")" \
    ORDERER_GENERAL_LOCALMSPID=OrdererMSP \
    ORDERER_GENERAL_LOCALMSPDIR="$dir/msp" \
    ORDERER_GENERAL_TLS_ENABLED=true \
    ORDERER_GENERAL_TLS_PRIVATEKEY="$dir/tls/server.key" \
    ORDERER_GENERAL_TLS_CERTIFICATE="$dir/tls/server.crt" \
    ORDERER_GENERAL_TLS_ROOTCAS="[$dir/tls/ca.crt]" \
    ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$dir/tls/server.crt" \
    ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$dir/tls/server.key" \
    ORDERER_FILELEDGER_LOCATION="$data/ledger" \
    ORDERER_CONSENSUS_WALDIR="$data/wal" \
    ORDERER_CONSENSUS_SNAPDIR="$data/snapshot" \
    ORDERER_CHANNELPARTICIPATION_ENABLED=true \
    ORDERER_ADMIN_LISTENADDRESS="$(node_ip orderer):$(orderer_admin_port "$i")" \
    ORDERER_ADMIN_TLS_ENABLED=true \
    ORDERER_ADMIN_TLS_PRIVATEKEY="$dir/tls/server.key" \
    ORDERER_ADMIN_TLS_CERTIFICATE="$dir/tls/server.crt" \
    ORDERER_ADMIN_TLS_ROOTCAS="[$dir/tls/ca.crt]" \
    ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
    ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$(orderer_tls_root)]" \
    ORDERER_OPERATIONS_LISTENADDRESS="$(node_ip orderer):$(orderer_ops_port "$i")" \
    ORDERER_OPERATIONS_TLS_ENABLED=true \
    ORDERER_OPERATIONS_TLS_PRIVATEKEY="$dir/tls/server.key" \
    ORDERER_OPERATIONS_TLS_CERTIFICATE="$dir/tls/server.crt" \
    ORDERER_OPERATIONS_TLS_CLIENTAUTHREQUIRED=false \
    ORDERER_METRICS_PROVIDER=prometheus \
    "$FABRIC_BIN/orderer"
}

# Gossip timings are shortened for a network on one machine: a peer that joins before the
# others fails its first handshakes with them and would otherwise retry only after 25 s, and
# service discovery would keep offering a stopped peer for 25 s.
start_peer() {
  org=$1
  dir=$(peer_dir "$org")
  data=$DATA_DIR/peer0.$org
  address=$(node_ip "$org"):$(peer_port "$org")
  mkdir -p "$data"
  spawn "peer0.$org" env FABRIC_CFG_PATH="$CFG_DIR" FABRIC_LOGGING_SPEC="$LOG_SPEC" \
    CORE_PEER_ID="peer0.$org.$DOMAIN" \
    CORE_PEER_ADDRESS="$address" \
    CORE_PEER_LISTENADDRESS="$address" \
    CORE_PEER_CHAINCODEADDRESS="127.0.0.1:$(peer_cc_port "$org")" \
    CORE_PEER_CHAINCODELISTENADDRESS="127.0.0.1:$(peer_cc_port "$org")" \
    CORE_PEER_GOSSIP_BOOTSTRAP="$address" \
    CORE_PEER_GOSSIP_EXTERNALENDPOINT="$address" \
    CORE_PEER_GOSSIP_RECONNECTINTERVAL=2s \
    CORE_PEER_GOSSIP_ALIVETIMEINTERVAL=2s \
    CORE_PEER_GOSSIP_ALIVEEXPIRATIONTIMEOUT=10s \
    CORE_PEER_GOSSIP_PUBLISHSTATEINFOINTERVAL=1s \
    CORE_PEER_LOCALMSPID="$(org_msp "$org")" \
    CORE_PEER_MSPCONFIGPATH="$dir/msp" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_CERT_FILE="$dir/tls/server.crt" \
    CORE_PEER_TLS_KEY_FILE="$dir/tls/server.key" \
    CORE_PEER_TLS_ROOTCERT_FILE="$dir/tls/ca.crt" \
    CORE_PEER_DELIVERYCLIENT_BLOCKCENSORSHIPTIMEOUTKEY=5s \
    CORE_PEER_FILESYSTEMPATH="$data/ledger" \
    CORE_LEDGER_SNAPSHOTS_ROOTDIR="$data/snapshots" \
    CORE_OPERATIONS_LISTENADDRESS="$(node_ip "$org"):$(peer_ops_port "$org")" \
    CORE_OPERATIONS_TLS_ENABLED=true \
    CORE_OPERATIONS_TLS_CERT_FILE="$dir/tls/server.crt" \
    CORE_OPERATIONS_TLS_KEY_FILE="$dir/tls/server.key" \
    CORE_OPERATIONS_TLS_CLIENTAUTHREQUIRED=false \
    CORE_METRICS_PROVIDER=prometheus \
    "$FABRIC_BIN/peer" node start
}

start_chaincode() {
  spawn chaincode "$ROOT/scripts/network.sh" supervise-chaincode
}

ensure_node_running() {
  if [ -n "$(node_pid "$1")" ]; then
    say "$1 is already running"
    return 0
  fi
  case $1 in
    orderer*) start_orderer "${1#orderer}" ;;
    peer0.*) start_peer "${1#peer0.}" ;;
    chaincode) start_chaincode ;;
    *) fail "unknown node '$1'" ;;
  esac
}

# Stops a node: TERM, then KILL if it has not gone after 10 s. For the chaincode, the
# supervisor's TERM handler stops the server it runs.
stop_node() {
  pid=$(node_pid "$1")
  if [ -z "$pid" ]; then
    rm -f "$(pid_file "$1")"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  n=0
  while kill -0 "$pid" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -ge 100 ]; then
      say "$1 (pid $pid) did not stop on TERM; killing it"
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  if [ "$1" = chaincode ] && [ -f "$RUN_DIR/chaincode-server.pid" ]; then
    kill "$(cat "$RUN_DIR/chaincode-server.pid")" 2>/dev/null || true
    rm -f "$RUN_DIR/chaincode-server.pid"
  fi
  rm -f "$(pid_file "$1")"
}

# --- health -----------------------------------------------------------------------------------

# True when something accepts TCP connections on PORT at NODE's address (tried from NODE's host).
port_open() {
  # shellcheck disable=SC2046 # on_host prints separate words
  $(on_host "$2") node -e 'const s=require("net").connect(Number(process.argv[1]),process.argv[2]);s.on("connect",()=>process.exit(0));s.on("error",()=>process.exit(1));setTimeout(()=>process.exit(1),2000);' "$1" "$(node_ip "$2")"
}

# GET /healthz on an operations endpoint (TLS, trusting the node's TLS CA), from the node's host.
healthz() {
  # shellcheck disable=SC2046 # on_host prints separate words
  $(on_host "$3") curl -sf --max-time 2 --cacert "$2" "https://$(node_ip "$3"):$1/healthz" >/dev/null 2>&1
}

node_healthy() {
  case $1 in
    orderer*) healthz "$(orderer_ops_port "${1#orderer}")" "$(orderer_tls_root)" "$1" ;;
    peer0.*) healthz "$(peer_ops_port "${1#peer0.}")" "$(peer_tls_root "${1#peer0.}")" "$1" ;;
    chaincode) port_open "$(chaincode_port)" chaincode ;;
    *) return 1 ;;
  esac
}

all_healthy() {
  for node in $ALL_NODES; do
    [ -n "$(node_pid "$node")" ] && node_healthy "$node" || return 1
  done
}

# Polls the node's health endpoint every 0.2 s for up to 60 s; fails early if the process exits.
wait_healthy() {
  n=0
  until node_healthy "$1"; do
    [ -n "$(node_pid "$1")" ] || fail "$1 exited while starting; see $LOG_DIR/$1.log"
    n=$((n + 1))
    [ "$n" -lt 300 ] || fail "$1 did not become healthy within 60 s; see $LOG_DIR/$1.log"
    sleep 0.2
  done
}

# --- channel and chaincode state --------------------------------------------------------------

# Prints joined or absent once the orderer's admin endpoint answers (it opens after /healthz);
# fails after 30 s.
orderer_channel_state() {
  n=0
  while :; do
    answer=$(osnadmin_cmd "$1" channel list --channelID "$CHANNEL" 2>/dev/null || true)
    case $answer in
      "Status: 200"*) echo joined && return 0 ;;
      "Status: 404"*) echo absent && return 0 ;;
    esac
    n=$((n + 1))
    [ "$n" -lt 150 ] || return 1
    sleep 0.2
  done
}

peer_has_channel() {
  as_admin "$1" "$FABRIC_BIN/peer" channel list 2>/dev/null | grep -qx "$CHANNEL"
}

# Prints the node's block height on the channel, or '-' when it cannot be read.
node_height() {
  case $1 in
    orderer*)
      osnadmin_cmd "${1#orderer}" channel list --channelID "$CHANNEL" 2>/dev/null |
        sed -n 's/.*"height": *\([0-9]*\).*/\1/p' | head -n 1
      ;;
    peer0.*)
      as_admin "${1#peer0.}" "$FABRIC_BIN/peer" channel getinfo -c "$CHANNEL" 2>/dev/null |
        sed -n 's/.*"height":\([0-9]*\).*/\1/p' | head -n 1
      ;;
    *) echo - ;;
  esac
}

chaincode_committed() {
  as_admin hospital1 "$FABRIC_BIN/peer" lifecycle chaincode querycommitted -C "$CHANNEL" -n "$CC_NAME" 2>/dev/null |
    grep -q "Sequence: $CC_SEQUENCE,"
}

# --- chaincode as a service -------------------------------------------------------------------

# A TLS server certificate for the chaincode server, from a CA of its own; the peers dial it
# with that CA as the root of trust (connection.json in the package carries the CA).
chaincode_tls() {
  tls=$CC_DIR/tls
  [ -f "$tls/server.crt" ] && return 0
  mkdir -p "$tls"
  openssl ecparam -name prime256v1 -genkey -noout -out "$tls/ca.key" 2>/dev/null
  openssl req -new -x509 -key "$tls/ca.key" -out "$tls/ca.crt" -days 3650 \
    -subj "/O=fedledger/CN=chaincode-tlsca.$DOMAIN" 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$tls/server.key" 2>/dev/null
  openssl req -new -key "$tls/server.key" -out "$tls/server.csr" -subj "/O=fedledger/CN=chaincode.$DOMAIN" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:%s,DNS:localhost,DNS:chaincode.%s\nextendedKeyUsage=serverAuth\n' \
    "$(node_ip chaincode)" "$DOMAIN" >"$tls/ext.cnf"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
    -out "$tls/server.crt" -days 3650 -extfile "$tls/ext.cnf" 2>/dev/null ||
    fail "openssl could not create the chaincode server's TLS certificate"
}

# Builds the CCaaS package (metadata.json + code.tar.gz holding connection.json) once and
# records its package ID.
package_chaincode() {
  if [ -f "$CC_PACKAGE_ID_FILE" ] && [ -f "$CC_PACKAGE" ]; then
    return 0
  fi
  command -v openssl >/dev/null 2>&1 || fail "openssl is required to create the chaincode server's TLS certificate"
  chaincode_tls
  work=$CC_DIR/package
  rm -rf "$work"
  mkdir -p "$work/code"
  root_cert=$(awk 'NF { printf "%s\\n", $0 }' "$CC_DIR/tls/ca.crt")
  cat >"$work/code/connection.json" <<EOF
{
  "address": "$(node_ip chaincode):$(chaincode_port)",
  "dial_timeout": "10s",
  "tls_required": true,
  "client_auth_required": false,
  "root_cert": "$root_cert"
}
EOF
  printf '{"type":"ccaas","label":"%s"}\n' "$CC_LABEL" >"$work/metadata.json"
  (cd "$work/code" && tar -czf ../code.tar.gz connection.json)
  (cd "$work" && tar -czf "$CC_PACKAGE.tmp" metadata.json code.tar.gz)
  mv "$CC_PACKAGE.tmp" "$CC_PACKAGE"
  FABRIC_CFG_PATH=$CFG_DIR "$FABRIC_BIN/peer" lifecycle chaincode calculatepackageid "$CC_PACKAGE" >"$CC_PACKAGE_ID_FILE.tmp" ||
    fail "could not calculate the chaincode package ID"
  mv "$CC_PACKAGE_ID_FILE.tmp" "$CC_PACKAGE_ID_FILE"
}

# Runs the chaincode server and starts it again whenever it exits, until TERM or INT.
supervise_chaincode() {
  package_id=$(cat "$CC_PACKAGE_ID_FILE")
  child=""
  trap '[ -z "$child" ] || kill "$child" 2>/dev/null; rm -f "$RUN_DIR/chaincode-server.pid"; exit 0' TERM INT
  while :; do
    say "starting the chaincode server on $(node_ip chaincode):$(chaincode_port) ($package_id)"
    FEDLEDGER_COORDINATOR_MSPS=${FEDLEDGER_COORDINATOR_MSPS:-CoordinatorMSP} CORE_CHAINCODE_LOGGING_LEVEL=$CC_LOG_LEVEL node "$ROOT/node_modules/fabric-shim/cli.js" server \
      --chaincode-address "$(node_ip chaincode):$(chaincode_port)" --chaincode-id "$package_id" \
      --chaincode-tls-cert-file "$CC_DIR/tls/server.crt" --chaincode-tls-key-file "$CC_DIR/tls/server.key" \
      --module-path "$ROOT/chaincode" &
    child=$!
    echo "$child" >"$RUN_DIR/chaincode-server.pid"
    status=0
    wait "$child" || status=$?
    child=""
    say "the chaincode server exited with status $status; restarting it in 1 s"
    sleep 1
  done
}

# Hosts (network namespaces) for --hosts.
# shellcheck source=scripts/network-hosts.sh
. "$ROOT/scripts/network-hosts.sh"

# The organisations (hospital count, endorsement policy, per-hospital templates) and the
# connection profile.
# shellcheck source=scripts/network-orgs.sh
. "$ROOT/scripts/network-orgs.sh"

set_hospitals "$HOSPITAL_COUNT"
