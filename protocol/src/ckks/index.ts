// Public API of @fedledger/protocol/ckks: CKKS parameters, keys, encrypted updates and aggregates.
export * from './params';
export * from './layout';
export { generateSecretKey, secretKeyFingerprint } from './keys';
export type { EncryptUpdateInput, EncryptedMetadata } from './encrypt';
export { MAX_ABS_VALUE, decryptAggregate, encryptUpdate } from './encrypt';
export type { AggregateMetadata, EncryptedInput } from './aggregate';
export { aggregateEncrypted, checkEncryptedUpdate } from './aggregate';
export type { CkksKeyFile, OpenedKeyFile, WriteKeyFileInput } from './key-file';
export { KEY_FILE_VERSION, parseKeyFile, readKeyFile, writeKeyFile } from './key-file';
export { loadSeal, releaseSealRuntimes, sealHeapBytes } from './seal-context';
export {
  CkksError,
  CkksKeyFileError,
  CkksKeyMismatchError,
  CkksMalformedError,
  CkksParamsMismatchError,
  CkksWrongPassphraseError,
} from '../errors';
export type { CkksErrorCode } from '../errors';
