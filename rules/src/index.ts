// Public API of @fedledger/rules: what makes an update count and how a round is decided. Pure
// functions (no I/O, no clock) shared by the gateway's coordinator and the auditor's verifier.
export * from './strategies';
export * from './run-settings';
export * from './update-check';
export * from './aggregate-model';
export * from './encrypted';
export * from './decide-round';
export * from './compare-decision';
export * from './explain-aggregate';
export * from './judge-update';
export * from './streaming-fedavg';
export * from './decide-secagg';
