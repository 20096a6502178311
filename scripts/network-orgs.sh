# The organisations of the network for scripts/network.sh: how many hospitals there are, what
# follows from the count (nodes, client identities, the endorsement policy), the per-hospital
# blocks of the network/ templates, and the connection profile clients read. Sourced by
# scripts/network-lib.sh, not run.
# shellcheck shell=sh disable=SC2034 # the variables below are used by scripts/network.sh

# How many hospitals the network has: `up --hospitals N` (default 3). A network that exists keeps
# the count it was created with (recorded in hospitals), like its port base. The limit is what a
# 2-core machine runs with every round still closing (see network/README.md, "How many hospitals").
MAX_HOSPITALS=12
HOSPITAL_COUNT=3
if [ -f "$NET_DIR/hospitals" ]; then
  HOSPITAL_COUNT=$(cat "$NET_DIR/hospitals")
fi

# Fails unless $1 is a hospital count `up` may create.
check_hospital_count() {
  case $1 in
    '' | *[!0-9]*) fail "--hospitals must be a whole number from 1 to $MAX_HOSPITALS (got \"$1\")" ;;
  esac
  if [ "$1" -lt 1 ] || [ "$1" -gt "$MAX_HOSPITALS" ]; then
    fail "--hospitals must lie between 1 and $MAX_HOSPITALS on this machine (got $1); see network/README.md, \"How many hospitals\""
  fi
}

# Sets the hospital count and everything derived from it: the organisations with a peer, the
# client identities, the nodes, and the endorsement policy (a majority of the hospitals).
set_hospitals() {
  case $1 in
    '' | *[!0-9]*) fail "$NET_DIR/hospitals does not hold a hospital count (\"$1\"): remove the folder" ;;
  esac
  HOSPITAL_COUNT=$1
  HOSPITALS=""
  i=1
  while [ "$i" -le "$HOSPITAL_COUNT" ]; do
    HOSPITALS="$HOSPITALS hospital$i"
    i=$((i + 1))
  done
  HOSPITALS=${HOSPITALS# }
  PEER_ORGS="$HOSPITALS auditor"
  CLIENT_ORGS="$HOSPITALS auditor coordinator"
  ALL_NODES="orderer1 orderer2 orderer3 orderer4"
  for org in $PEER_ORGS; do
    ALL_NODES="$ALL_NODES peer0.$org"
  done
  ALL_NODES="$ALL_NODES chaincode"
  CC_POLICY="OutOf($((HOSPITAL_COUNT / 2 + 1))"
  for org in $HOSPITALS; do
    CC_POLICY="$CC_POLICY, '$(org_msp "$org").peer'"
  done
  CC_POLICY="$CC_POLICY)"
}

# --- connection profile -----------------------------------------------------------------------

client_user() {
  echo "$(org_dir "$1")/users/User1@$1.$DOMAIN/msp"
}

client_peer() {
  case $1 in
    coordinator) echo peer0.hospital1 ;;
    *) echo "peer0.$1" ;;
  esac
}

# Peers a client goes through when its own cannot be reached: the coordinator (the gateway), which
# has no peer of its own, fails over to the other hospitals' peers.
client_fallback_peers() {
  case $1 in
    coordinator)
      list=""
      for org in $HOSPITALS; do
        [ "$org" = hospital1 ] || list="$list${list:+, }\"peer0.$org\""
      done
      [ -z "$list" ] || echo "[$list]"
      ;;
    *) echo '' ;;
  esac
}

# Writes a connection profile to FILE with the peers PEERS (organisation names), the client
# identities IDENTITIES (with their keys) and, when given, ORGANISATIONS known by their CA only
# (the gateway authenticates their clients but holds no key of theirs).
write_profile() {
  file=$1
  peers=$2
  identities=$3
  organisations=${4:-}
  mkdir -p "$(dirname "$file")"
  {
    printf '{\n  "channel": "%s",\n  "chaincode": "%s",\n  "peers": {\n' "$CHANNEL" "$CC_NAME"
    sep=""
    for org in $peers; do
      printf '%s    "peer0.%s": {\n      "mspId": "%s",\n      "endpoint": "%s:%s",\n' \
        "$sep" "$org" "$(org_msp "$org")" "$(node_ip "$org")" "$(peer_port "$org")"
      printf '      "hostAlias": "peer0.%s.%s",\n      "tlsRootCertPath": "%s"\n    }' \
        "$org" "$DOMAIN" "$(peer_tls_root "$org")"
      sep=",
"
    done
    printf '\n  },\n  "identities": {\n'
    sep=""
    for org in $identities; do
      msp=$(client_user "$org")
      printf '%s    "%s": {\n      "mspId": "%s",\n      "certPath": "%s",\n      "keyPath": "%s",\n' \
        "$sep" "$org" "$(org_msp "$org")" "$msp/signcerts/User1@$org.$DOMAIN-cert.pem" "$msp/keystore/priv_sk"
      fallbacks=$(client_fallback_peers "$org")
      if [ -n "$fallbacks" ]; then
        printf '      "fallbackPeers": %s,\n' "$fallbacks"
      fi
      printf '      "peer": "%s",\n      "caCertPath": "%s"\n    }' \
        "$(client_peer "$org")" "$msp/cacerts/ca.$org.$DOMAIN-cert.pem"
      sep=",
"
    done
    printf '\n  },\n'
    if [ -n "$organisations" ]; then
      printf '  "organisations": {\n'
      sep=""
      for org in $organisations; do
        printf '%s    "%s": {\n      "mspId": "%s",\n      "caCertPath": "%s"\n    }' \
          "$sep" "$org" "$(org_msp "$org")" "$(client_user "$org")/cacerts/ca.$org.$DOMAIN-cert.pem"
        sep=",
"
      done
      printf '\n  },\n'
    fi
    printf '  "orderers": {\n'
    sep=""
    for i in 1 2 3 4; do
      printf '%s    "orderer%s": {\n      "endpoint": "%s:%s",\n      "adminEndpoint": "%s:%s",\n      "operationsEndpoint": "%s:%s"\n    }' \
        "$sep" "$i" "$(node_ip orderer)" "$(orderer_port "$i")" "$(node_ip orderer)" "$(orderer_admin_port "$i")" \
        "$(node_ip orderer)" "$(orderer_ops_port "$i")"
      sep=",
"
    done
    printf '\n  }\n}\n'
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}

# connection.json with every peer and identity; with --hosts also orgs/<org>/connection.json,
# one per organisation, with its own identity only: a hospital's and the auditor's name their own
# peer, the coordinator's (the gateway's) the hospitals' peers and the other organisations' CAs.
write_connection_profile() {
  write_profile "$CONNECTION_PROFILE" "$PEER_ORGS" "$CLIENT_ORGS"
  [ "$HOSTS_MODE" -eq 1 ] || return 0
  for org in $PEER_ORGS; do
    write_profile "$NET_DIR/orgs/$org/connection.json" "$org" "$org"
  done
  write_profile "$NET_DIR/orgs/coordinator/connection.json" "$HOSPITALS" coordinator "$PEER_ORGS"
}

# --- per-hospital configuration ---------------------------------------------------------------

# Copies a network/ template to stdout with the block between the lines `#{hospital` and
# `#}hospital` written once per hospital: __K__ becomes the hospital's number,
# __HOSPITAL_PEER_PORT__ its peer's port and __HOSPITAL_HOST__ its peer's address; then the
# orderers' and the auditor's addresses.
expand_hospitals() {
  ports=""
  hosts=""
  for org in $HOSPITALS; do
    ports="$ports $(peer_port "$org")"
    hosts="$hosts $(node_ip "$org")"
  done
  awk -v n="$HOSPITAL_COUNT" -v ports="$ports" -v hosts="$hosts" '
    /^ *#\{hospital/ { inblock = 1; block = ""; next }
    /^ *#\}hospital/ {
      inblock = 0
      split(ports, port, " ")
      split(hosts, host, " ")
      for (k = 1; k <= n; k++) {
        text = block
        gsub(/__K__/, k, text)
        gsub(/__HOSPITAL_PEER_PORT__/, port[k], text)
        gsub(/__HOSPITAL_HOST__/, host[k], text)
        printf "%s", text
      }
      next
    }
    inblock { block = block $0 "\n"; next }
    { print }
  ' "$1" | sed -e "s/__ORDERER_HOST__/$(node_ip orderer)/g" -e "s/__AUDITOR_HOST__/$(node_ip auditor)/g"
}
