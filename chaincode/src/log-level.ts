// fabric-contract-api logs every decorator at "info" when it loads; unless the operator chose a
// level, keep it to warnings (the CCaaS server's level is set by scripts/network.sh).
process.env.CORE_CHAINCODE_LOGGING_LEVEL ??= 'warning';
