#!/bin/sh
# Runs the fedledger Fabric network on this machine as native processes bound to 127.0.0.1:
# four SmartBFT orderers, one peer for each hospital (three by default) and the auditor, and the
# fedledger chaincode as a service. See network/README.md for the layout, the ports and
# connection.json.
#
#   scripts/network.sh up [--hospitals N] [--hosts]
#                                          create (or resume) the network; no-op when healthy.
#                                          N hospitals, 1 to 12 (default 3), each with its own
#                                          organisation and peer; endorsement by a majority.
#                                          --hosts: each organisation on a host of its own, a
#                                          network namespace (root; scripts/network-hosts.sh)
#   scripts/network.sh down                stop every process it started and delete its data,
#                                          the ledger included (no run on it can be audited after)
#   scripts/network.sh status              list the nodes and their health (exit 1 if any is down)
#   scripts/network.sh stop-node NAME      stop one node (orderer1..4, peer0.hospital1, ...,
#   scripts/network.sh start-node NAME       peer0.auditor, chaincode) and start it again
#   scripts/network.sh height NAME         print an orderer's or peer's block height on the channel
#
# Environment: FEDLEDGER_PORT_BASE (default 27050), FEDLEDGER_NETWORK_DIR (default
# <repo>/.fedledger/network), FEDLEDGER_LOG_SPEC (Fabric log spec, default info with the
# per-request BFT and gRPC lines at warning), FEDLEDGER_CHAINCODE_LOG_LEVEL (default warning).
set -eu

ROOT=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
# shellcheck source=scripts/network-lib.sh
. "$ROOT/scripts/network-lib.sh"

STEPS=10

# --- up, one function per step ----------------------------------------------------------------

check_prerequisites() {
  for tool in peer orderer configtxgen osnadmin cryptogen; do
    [ -x "$FABRIC_BIN/$tool" ] || fail "$FABRIC_BIN/$tool is missing: run scripts/install-fabric.sh (npm run fabric:install) first"
  done
  command -v node >/dev/null 2>&1 || fail "node is required to run the chaincode server"
  [ -f "$ROOT/node_modules/fabric-shim/cli.js" ] || fail "fabric-shim is not installed: run npm install at the repository root"
  if [ ! -f "$ROOT/chaincode/dist/src/index.js" ]; then
    say "the chaincode is not built yet; building it (tsc -b chaincode)"
    (cd "$ROOT" && npx --no-install tsc -b chaincode) || fail "could not build the chaincode: run npm run build"
  fi
}

generate_crypto() {
  if [ -f "$CRYPTO_DIR/.complete" ]; then
    say "identities already generated in $CRYPTO_DIR"
    return
  fi
  rm -rf "$CRYPTO_DIR"
  mkdir -p "$CFG_DIR"
  expand_hospitals "$ROOT/network/crypto-config.template.yaml" >"$CFG_DIR/crypto-config.yaml"
  "$FABRIC_BIN/cryptogen" generate --config="$CFG_DIR/crypto-config.yaml" --output="$CRYPTO_DIR" >/dev/null
  touch "$CRYPTO_DIR/.complete"
}

write_node_configs() {
  mkdir -p "$CFG_DIR"
  cp "$FABRIC_CONFIG/orderer.yaml" "$CFG_DIR/orderer.yaml"
  # Two changes to Fabric's core.yaml that environment variables cannot make: the external
  # builder for chaincode-as-a-service points at network/builders/ccaas, and Docker is off
  # (an unreachable Docker endpoint would also fail the peer's health check).
  sed -e "s#path: /opt/hyperledger/ccaas_builder#path: $ROOT/network/builders/ccaas#" \
    -e 's#^\(  *\)endpoint: unix:///var/run/docker.sock#\1endpoint:#' \
    "$FABRIC_CONFIG/core.yaml" >"$CFG_DIR/core.yaml"
  grep -q "path: $ROOT/network/builders/ccaas" "$CFG_DIR/core.yaml" ||
    fail "could not set the ccaas builder path in $CFG_DIR/core.yaml (has Fabric's core.yaml changed?)"
  expand_hospitals "$ROOT/network/configtx.template.yaml" |
    sed -e "s/__ORDERER1_PORT__/$(orderer_port 1)/g" -e "s/__ORDERER2_PORT__/$(orderer_port 2)/g" \
      -e "s/__ORDERER3_PORT__/$(orderer_port 3)/g" -e "s/__ORDERER4_PORT__/$(orderer_port 4)/g" \
      -e "s/__AUDITOR_PEER_PORT__/$(peer_port auditor)/g" >"$CFG_DIR/configtx.yaml"
}

create_genesis_block() {
  if [ -f "$GENESIS_BLOCK" ]; then
    say "channel genesis block already created"
    return
  fi
  mkdir -p "$(dirname "$GENESIS_BLOCK")"
  FABRIC_CFG_PATH=$CFG_DIR "$FABRIC_BIN/configtxgen" -profile FedLedgerChannel -channelID "$CHANNEL" \
    -outputBlock "$GENESIS_BLOCK.tmp" >>"$LOG_DIR/configtxgen.log" 2>&1 ||
    fail "configtxgen failed; see $LOG_DIR/configtxgen.log"
  mv "$GENESIS_BLOCK.tmp" "$GENESIS_BLOCK"
}

start_orderers() {
  for i in 1 2 3 4; do
    ensure_node_running "orderer$i"
  done
  for i in 1 2 3 4; do
    wait_healthy "orderer$i"
  done
}

# All four join at once: a consenter that joins late starts behind the others and, on a quiet
# channel, may stay behind until the next block. Then every orderer must reach the same height.
join_orderers() {
  pids=""
  for i in 1 2 3 4; do
    state=$(orderer_channel_state "$i") || fail "the admin endpoint of orderer$i does not answer; see $LOG_DIR/orderer$i.log"
    if [ "$state" = joined ]; then
      say "orderer$i already serves channel $CHANNEL"
      continue
    fi
    osnadmin_cmd "$i" channel join --channelID "$CHANNEL" --config-block "$GENESIS_BLOCK" \
      >>"$LOG_DIR/cli.log" 2>&1 &
    pids="$pids $!:$i"
  done
  for entry in $pids; do
    wait "${entry%%:*}" || fail "orderer${entry#*:} could not join channel $CHANNEL; see $LOG_DIR/orderer${entry#*:}.log and $LOG_DIR/cli.log"
  done
  wait_orderers_in_step
}

wait_orderers_in_step() {
  n=0
  until [ "$(for i in 1 2 3 4; do node_height "orderer$i"; done | sort -u | wc -l)" -eq 1 ]; do
    n=$((n + 1))
    [ "$n" -lt 300 ] || fail "the orderers did not reach the same block height within 60 s; see $LOG_DIR/orderer*.log"
    sleep 0.2
  done
}

start_peers() {
  for org in $PEER_ORGS; do
    ensure_node_running "peer0.$org"
  done
  for org in $PEER_ORGS; do
    wait_healthy "peer0.$org"
  done
}

join_peers() {
  for org in $PEER_ORGS; do
    if peer_has_channel "$org"; then
      say "peer0.$org already joined channel $CHANNEL"
      continue
    fi
    as_admin "$org" "$FABRIC_BIN/peer" channel join -b "$GENESIS_BLOCK" >>"$LOG_DIR/cli.log" 2>&1 ||
      fail "peer0.$org could not join channel $CHANNEL; see $LOG_DIR/cli.log"
  done
}

start_chaincode_server() {
  package_chaincode
  ensure_node_running chaincode
  wait_healthy chaincode
}

deploy_chaincode() {
  if chaincode_committed; then
    say "chaincode $CC_NAME is already committed on $CHANNEL"
    return
  fi
  package_id=$(cat "$CC_PACKAGE_ID_FILE")
  for org in $PEER_ORGS; do
    if as_admin "$org" "$FABRIC_BIN/peer" lifecycle chaincode queryinstalled --output json 2>/dev/null | grep -q "\"$package_id\""; then
      say "$CC_LABEL already installed on peer0.$org"
    else
      as_admin "$org" "$FABRIC_BIN/peer" lifecycle chaincode install "$CC_PACKAGE" >>"$LOG_DIR/cli.log" 2>&1 ||
        fail "could not install the chaincode on peer0.$org; see $LOG_DIR/cli.log"
    fi
  done
  for org in $PEER_ORGS; do
    if as_admin "$org" "$FABRIC_BIN/peer" lifecycle chaincode queryapproved -C "$CHANNEL" -n "$CC_NAME" \
      --sequence "$CC_SEQUENCE" >/dev/null 2>&1; then
      say "$(org_msp "$org") already approved $CC_NAME"
      continue
    fi
    # shellcheck disable=SC2046 # orderer_args prints separate arguments
    as_admin "$org" "$FABRIC_BIN/peer" lifecycle chaincode approveformyorg $(orderer_args) \
      --channelID "$CHANNEL" --name "$CC_NAME" --version "$CC_VERSION" --sequence "$CC_SEQUENCE" \
      --package-id "$package_id" --signature-policy "$CC_POLICY" >>"$LOG_DIR/cli.log" 2>&1 ||
      fail "$(org_msp "$org") could not approve the chaincode; see $LOG_DIR/cli.log"
  done
  peers=""
  for org in $PEER_ORGS; do
    peers="$peers --peerAddresses $(node_ip "$org"):$(peer_port "$org") --tlsRootCertFiles $(peer_tls_root "$org")"
  done
  # shellcheck disable=SC2046,SC2086 # orderer_args and $peers hold separate arguments
  as_admin hospital1 "$FABRIC_BIN/peer" lifecycle chaincode commit $(orderer_args) \
    --channelID "$CHANNEL" --name "$CC_NAME" --version "$CC_VERSION" --sequence "$CC_SEQUENCE" \
    --signature-policy "$CC_POLICY" $peers >>"$LOG_DIR/cli.log" 2>&1 ||
    fail "could not commit the chaincode definition; see $LOG_DIR/cli.log"
}

# Every peer answers a query through the chaincode: proves the peer can dial the chaincode
# server and opens that connection before the first client needs it.
wait_chaincode_ready() {
  for org in $PEER_ORGS; do
    n=0
    until as_admin "$org" "$FABRIC_BIN/peer" chaincode query -C "$CHANNEL" -n "$CC_NAME" \
      -c '{"function":"GetRun","Args":["network-readiness-probe"]}' 2>&1 | grep -q RUN_NOT_FOUND; do
      n=$((n + 1))
      [ "$n" -lt 150 ] || fail "peer0.$org cannot reach the chaincode server; see $LOG_DIR/peer0.$org.log and $LOG_DIR/chaincode.log"
      sleep 0.2
    done
  done
  write_connection_profile
  wait_discovery_ready
  touch "$NET_DIR/.deployed"
}

# Every peer's Gateway can plan an endorsement (a majority of the hospitals) from what gossip
# has told its service discovery; see scripts/network-probe.mjs.
wait_discovery_ready() {
  n=0
  # shellcheck disable=SC2046 # on_host prints separate words
  until $(on_host coordinator) node "$ROOT/scripts/network-probe.mjs" "$CONNECTION_PROFILE" >"$LOG_DIR/probe.log" 2>&1; do
    n=$((n + 1))
    [ "$n" -lt 120 ] || fail "service discovery cannot plan endorsements after 60 s: $(tail -n 4 "$LOG_DIR/probe.log")"
    sleep 0.5
  done
}

cmd_up() {
  requested=""
  hosts_requested=0
  while [ $# -gt 0 ]; do
    case $1 in
      --hospitals)
        [ $# -ge 2 ] || fail "--hospitals needs a number, e.g. scripts/network.sh up --hospitals 6"
        requested=$2
        shift 2
        ;;
      --hospitals=*)
        requested=${1#--hospitals=}
        shift
        ;;
      --hosts)
        hosts_requested=1
        shift
        ;;
      *) fail "unknown option '$1' for up (usage: scripts/network.sh up [--hospitals N] [--hosts])" ;;
    esac
  done
  if [ -f "$NET_DIR/hospitals" ]; then
    if [ -n "$requested" ] && [ "$requested" != "$HOSPITAL_COUNT" ]; then
      fail "the network in $NET_DIR has $HOSPITAL_COUNT hospitals, not $requested: scripts/network.sh down first (it deletes the ledger), or set FEDLEDGER_NETWORK_DIR to another folder"
    fi
  elif [ -n "$requested" ]; then
    check_hospital_count "$requested"
    set_hospitals "$requested"
  fi
  if [ -f "$NET_DIR/hospitals" ] && [ "$hosts_requested" -eq 1 ] && [ "$HOSTS_MODE" -eq 0 ]; then
    fail "the network in $NET_DIR runs on this host only, not on --hosts: scripts/network.sh down first"
  fi
  if [ "$hosts_requested" -eq 1 ]; then
    HOSTS_MODE=1
    check_hosts_settings
  fi
  if [ -f "$NET_DIR/.deployed" ] && all_healthy; then
    say "the network is already up and healthy (scripts/network.sh status for details)"
    return 0
  fi
  mkdir -p "$NET_DIR" "$LOG_DIR" "$RUN_DIR" "$DATA_DIR"
  record_layout
  say "$HOSPITAL_COUNT hospitals; endorsement policy $CC_POLICY"
  step 1 "checking prerequisites"
  check_prerequisites
  if [ "$HOSTS_MODE" -eq 1 ]; then
    say "hosts: network namespaces ${NETNS_PREFIX}* on $HOSTS_SUBNET.0/24, joined by a bridge in ${NETNS_PREFIX}lan"
    create_hosts
  fi
  step 2 "generating identities with cryptogen"
  generate_crypto
  step 3 "writing node configuration and the channel genesis block (BFT, V3_0)"
  write_node_configs
  create_genesis_block
  step 4 "starting orderers"
  start_orderers
  step 5 "joining orderers to channel $CHANNEL with osnadmin"
  join_orderers
  step 6 "starting peers"
  start_peers
  step 7 "joining peers to channel $CHANNEL"
  join_peers
  step 8 "packaging and starting the chaincode server (chaincode-as-a-service)"
  start_chaincode_server
  step 9 "installing, approving and committing chaincode $CC_NAME"
  deploy_chaincode
  step 10 "waiting for every peer to reach the chaincode and for service discovery"
  wait_chaincode_ready
  say "network up in $(($(date +%s) - STARTED_AT)) s; clients read $CONNECTION_PROFILE"
}

# --- down, status, single nodes ---------------------------------------------------------------

cmd_down() {
  if [ ! -d "$NET_DIR" ]; then
    say "no network in $NET_DIR; nothing to do"
    return 0
  fi
  say "stopping the network and DELETING its data, the ledger included: the runs on it can no longer be audited"
  say "stopping the chaincode server, peers and orderers"
  stop_node chaincode
  for org in $PEER_ORGS; do
    stop_node "peer0.$org"
  done
  for i in 1 2 3 4; do
    stop_node "orderer$i"
  done
  if [ "$HOSTS_MODE" -eq 1 ]; then
    say "deleting the network namespaces ${NETNS_PREFIX}*"
    remove_hosts
  fi
  rm -rf "$NET_DIR"
  say "removed $NET_DIR (the ledger with it)"
}

cmd_status() {
  if [ ! -d "$NET_DIR" ]; then
    say "no network in $NET_DIR (scripts/network.sh up to create one)"
    return 3
  fi
  printf '%-16s %-8s %-9s %-8s %-22s %s\n' NODE PID STATE HEALTH ADDRESS "BLOCKS($CHANNEL)"
  unhealthy=0
  for node in $ALL_NODES; do
    pid=$(node_pid "$node")
    state=stopped
    health=-
    height=-
    if [ -n "$pid" ]; then
      state=running
      if node_healthy "$node"; then health=OK; else health=FAILING; fi
      height=$(node_height "$node")
    fi
    [ "$health" = OK ] || unhealthy=$((unhealthy + 1))
    printf '%-16s %-8s %-9s %-8s %-22s %s\n' "$node" "${pid:--}" "$state" "$health" "$(node_address "$node")" "$height"
  done
  if [ "$unhealthy" -eq 0 ]; then
    say "all $(echo "$ALL_NODES" | wc -w | tr -d ' ') nodes healthy; connection profile: $CONNECTION_PROFILE"
    return 0
  fi
  say "$unhealthy node(s) not healthy; logs in $LOG_DIR"
  return 1
}

cmd_stop_node() {
  valid_node "${1:-}" || fail "usage: scripts/network.sh stop-node <$(echo "$ALL_NODES" | tr ' ' '|')>"
  stop_node "$1"
  say "stopped $1"
}

cmd_start_node() {
  valid_node "${1:-}" || fail "usage: scripts/network.sh start-node <$(echo "$ALL_NODES" | tr ' ' '|')>"
  [ -f "$NET_DIR/.deployed" ] || fail "the network is not up: run scripts/network.sh up"
  ensure_node_running "$1"
  wait_healthy "$1"
  case $1 in
    peer0.* | chaincode) wait_discovery_ready ;;
  esac
  say "$1 is running and healthy"
}

cmd_height() {
  case ${1:-} in
    orderer[1-4] | peer0.*) valid_node "$1" || fail "unknown node '$1'" ;;
    *) fail "usage: scripts/network.sh height <orderer1..4|peer0.hospital1|...|peer0.auditor>" ;;
  esac
  height=$(node_height "$1")
  [ -n "$height" ] || fail "could not read the block height of $1 (is it running?)"
  echo "$height"
}

main() {
  command=${1:-}
  [ $# -eq 0 ] || shift
  case $command in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    stop-node) cmd_stop_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    height) cmd_height "$@" ;;
    supervise-chaincode) supervise_chaincode ;;
    *)
      echo "usage: scripts/network.sh up [--hospitals N]|down|status|stop-node NAME|start-node NAME|height NAME" >&2
      exit 2
      ;;
  esac
}

main "$@"
