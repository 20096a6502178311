// Public API of @fedledger/protocol/fabric: the network's connection profile (connection.json),
// shared by everyone who dials a Fabric peer: the gateway, the auditor and each hospital.
export * from './network-profile';
