// The connection profile and Fabric Gateway connections, as protocol defines them for every party.
export * from '@fedledger/protocol/fabric';
