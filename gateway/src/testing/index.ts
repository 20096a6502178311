// Test support of @fedledger/gateway (import '@fedledger/gateway/testing'); not for production use.
export * from './harness';
export * from './scenarios';
export * from './dishonest';
export * from './rejection';
export * from './outage';
export * from './secagg-hospitals';
