// Public API of @fedledger/gateway: blob store, aggregation strategies, typed errors.
export * from './errors';
export * from './http/problem-registry';
export * from './blob/blob-store';
export * from './blob/fs-blob-store';
export * from './aggregation';
export * from './ledger/network-profile';
