// Entry point for fabric-chaincode-node: exports the contracts this chaincode serves.
import './log-level';
import { FedLedgerContract } from './fedledger-contract';

export { FedLedgerContract, consortiumCoordinators } from './fedledger-contract';
export { LedgerRuleError } from './rule-error';

export const contracts: (typeof FedLedgerContract)[] = [FedLedgerContract];
export * from './simulated/simulated-ledger';
