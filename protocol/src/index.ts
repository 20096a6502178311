// Public API of @fedledger/protocol: the container format, hashing, model specs, ledger types.
export * from './errors';
export * from './hash';
export * from './canonical-json';
export * from './safetensors';
export * from './model-spec';
export * from './container';
export * from './ledger';
export * from './secagg-records';
export type * from './secagg/types';
export * from './exclusion';
export * from './api';
export * from './shared-metrics';
export * from './preprocessing';
export * from './masked-update';
