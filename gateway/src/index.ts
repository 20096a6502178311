// Public API of @fedledger/gateway: blob store, ledger clients, coordinator, REST app, audit, typed
// errors. The round rules (strategies, update checks, the decision) are @fedledger/rules.
export * from './errors';
export * from './crash-points';
export * from './http/problem-registry';
export * from './blob/blob-store';
export * from './blob/fs-blob-store';
export * from './ledger/network-profile';
export * from './ledger/ledger-client';
export * from './ledger/ledger-errors';
export * from './ledger/simulated-ledger-client';
export * from './ledger/fabric-ledger-client';
export * from './pki/organisations';
export * from './pki/dev-pki';
export * from './coordinator/run-settings';
export * from './coordinator/coordinator';
export * from './audit/verify';
export * from './http/app';
export * from './http/limits';
export * from './http/metrics';
export * from './http/openapi';
export * from './server';
export * from './audit/blob-sources';
export * from './audit/trail-format';
export * from './audit/report-format';
export * from './audit/block-info';
export * from './audit/audit-cli';
export * from './ledger/contract-ledger';
