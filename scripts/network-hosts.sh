# Hosts for scripts/network.sh up --hosts: every organisation on a host of its own, as a Linux
# network namespace with one address on a bridge that joins them (the orderers share the
# orderer organisation's host; the chaincode server and the gateway have one each). Without
# --hosts every node runs in this namespace on 127.0.0.1. Sourced by scripts/network-lib.sh.
#
# Namespaces are named <prefix><host> (FEDLEDGER_NETNS_PREFIX, default fl-), the bridge lives in
# <prefix>lan, and the addresses are <subnet>.N/24 (FEDLEDGER_HOSTS_SUBNET, three octets, default
# 10.77.0): orderer .2, chaincode .3, coordinator (the gateway) .4, auditor .5, hospital K .(10+K).
# Nothing is added to the namespace the script runs in; `down` deletes every namespace it made.
# shellcheck shell=sh disable=SC2034

HOSTS_MODE=0
NETNS_PREFIX=${FEDLEDGER_NETNS_PREFIX:-fl-}
HOSTS_SUBNET=${FEDLEDGER_HOSTS_SUBNET:-10.77.0}
# A network that exists keeps the hosts it was created with.
if [ -f "$NET_DIR/hosts" ]; then
  HOSTS_MODE=1
  read -r NETNS_PREFIX HOSTS_SUBNET <"$NET_DIR/hosts"
fi

check_hosts_settings() {
  case $NETNS_PREFIX in
    '' | *[!a-z0-9-]*) fail "FEDLEDGER_NETNS_PREFIX must be lower-case letters, digits and '-' (got \"$NETNS_PREFIX\")" ;;
  esac
  echo "$HOSTS_SUBNET" | grep -Eq '^(10|172\.(1[6-9]|2[0-9]|3[01])|192\.168)\.[0-9]+(\.[0-9]+)?$' ||
    fail "FEDLEDGER_HOSTS_SUBNET must be the first three octets of a private /24, e.g. 10.77.0 (got \"$HOSTS_SUBNET\")"
  [ "$(id -u)" -eq 0 ] || fail "--hosts creates network namespaces and needs root"
  command -v ip >/dev/null 2>&1 || fail "--hosts needs the ip command (iproute2): apt-get install iproute2"
}

# The host a node or organisation runs on: orderer, chaincode, coordinator, auditor, hospitalK.
host_of() {
  case $1 in
    orderer*) echo orderer ;;
    peer0.*) echo "${1#peer0.}" ;;
    *) echo "$1" ;;
  esac
}

# The address a node or organisation listens on.
node_ip() {
  [ "$HOSTS_MODE" -eq 1 ] || {
    echo 127.0.0.1
    return
  }
  case $(host_of "$1") in
    orderer) echo "$HOSTS_SUBNET.2" ;;
    chaincode) echo "$HOSTS_SUBNET.3" ;;
    coordinator) echo "$HOSTS_SUBNET.4" ;;
    auditor) echo "$HOSTS_SUBNET.5" ;;
    hospital*) echo "$HOSTS_SUBNET.$((10 + $(hospital_number "$(host_of "$1")")))" ;;
    *) fail "no host for '$1'" ;;
  esac
}

# The words that run a command on a node's or organisation's host (nothing without --hosts).
on_host() {
  [ "$HOSTS_MODE" -eq 1 ] && echo "ip netns exec $NETNS_PREFIX$(host_of "$1")"
}

host_names() {
  echo "orderer chaincode coordinator $PEER_ORGS"
}

# Creates the bridge namespace and one namespace per host, each joined to the bridge by a veth
# pair; idempotent.
create_hosts() {
  lan=${NETNS_PREFIX}lan
  if ! ip netns list | grep -qx "$lan\( (id: [0-9]*)\)\?"; then
    ip netns add "$lan"
    ip -n "$lan" link set lo up
    ip -n "$lan" link add br0 type bridge
    ip -n "$lan" link set br0 up
  fi
  for host in $(host_names); do
    ns=$NETNS_PREFIX$host
    ip netns list | grep -qx "$ns\( (id: [0-9]*)\)\?" && continue
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$lan" link add "v$host" type veth peer name eth0 netns "$ns"
    ip -n "$lan" link set "v$host" master br0 up
    ip -n "$ns" addr add "$(node_ip "$host")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

# Deletes the namespaces create_hosts made (their veth pairs go with them).
remove_hosts() {
  [ "$HOSTS_MODE" -eq 1 ] || return 0
  for host in $(host_names) lan; do
    ip netns del "$NETNS_PREFIX$host" 2>/dev/null || true
  done
}
