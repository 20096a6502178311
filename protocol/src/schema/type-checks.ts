// Compile-time proof that each schema describes exactly its TypeScript type: the same property
// names, each required or optional alike, and values assignable both ways. Changing a type
// without its schema (or the reverse) fails the build here.
import type { Static, TSchema } from '@sinclair/typebox';
import type {
  CommitInfo,
  CommitReply,
  EndorseReply,
  KeysUploadReply,
  RoundDetails,
  SecAggBlobReply,
  RoundSummary,
  RunStatus,
  SubmissionStatus,
  UploadReply,
} from '../api';
import type {
  AuditTrail,
  ClientRef,
  CreatorRef,
  DpAccounting,
  ExcludedUpdate,
  HistoryEntry,
  RoundRecord,
  RoundTrail,
  RunRecord,
  UpdateRecord,
  UpdateSubmission,
} from '../ledger';
import type { ModelSpec } from '../model-spec';
import type { KeysRecord } from '../secagg-records';
import type { KeyAdvertisement, Reveal, ShareBundle } from '../secagg/types';
import type {
  AuditTrailSchema,
  ClientRefSchema,
  CommitInfoSchema,
  CreatorRefSchema,
  DpAccountingSchema,
  ExcludedUpdateSchema,
  HistoryEntrySchema,
  KeysRecordSchema,
  ModelSpecSchema,
  RoundRecordSchema,
  RoundTrailSchema,
  RunRecordSchema,
  RunSettingsDocument,
  UpdateRecordSchema,
  UpdateSubmissionSchema,
} from './records';
import type {
  CommitReplySchema,
  EndorseReplySchema,
  RoundDetailsSchema,
  RoundSummarySchema,
  RunStatusSchema,
  SubmissionStatusSchema,
  UploadReplySchema,
} from './replies';
import type {
  KeyAdvertisementRequestSchema,
  KeysUploadReplySchema,
  RevealSchema,
  SecAggBlobReplySchema,
  ShareBundleSchema,
} from './secagg';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/** True when schema `S` describes type `T` exactly (at its top level; nested schemas have their own check). */
export type Describes<S extends TSchema, T> =
  Same<keyof Static<S>, keyof T> extends true
    ? Same<OptionalKeys<Static<S>>, OptionalKeys<T>> extends true
      ? Same<Static<S>, T>
      : false
    : false;

/** A record whose opaque `settings` map is read as the documented run settings. */
type WithSettings<T> = Omit<T, 'settings'> & { settings: RunSettingsDocument };
type RunRecordDocument = WithSettings<RunRecord>;
type AuditTrailDocument = Omit<AuditTrail, 'run'> & { run: RunRecordDocument };
type RunStatusDocument = Omit<RunStatus, 'run'> & { run: RunRecordDocument };

/** Compiles only when every flag is true. */
export const SCHEMAS_DESCRIBE_TYPES: {
  [K in keyof SchemaChecks]: SchemaChecks[K] extends true ? true : never;
} = {
  modelSpec: true,
  clientRef: true,
  creatorRef: true,
  commitInfo: true,
  runRecord: true,
  excludedUpdate: true,
  roundRecord: true,
  dpAccounting: true,
  updateSubmission: true,
  updateRecord: true,
  roundTrail: true,
  auditTrail: true,
  historyEntry: true,
  roundSummary: true,
  runStatus: true,
  roundDetails: true,
  uploadReply: true,
  endorseReply: true,
  commitReply: true,
  submissionStatus: true,
  keysRecord: true,
  keyAdvertisementRequest: true,
  shareBundle: true,
  reveal: true,
  keysUploadReply: true,
  secAggBlobReply: true,
};

interface SchemaChecks {
  modelSpec: Describes<typeof ModelSpecSchema, ModelSpec>;
  clientRef: Describes<typeof ClientRefSchema, ClientRef>;
  creatorRef: Describes<typeof CreatorRefSchema, CreatorRef>;
  commitInfo: Describes<typeof CommitInfoSchema, CommitInfo>;
  runRecord: Describes<typeof RunRecordSchema, RunRecordDocument>;
  excludedUpdate: Describes<typeof ExcludedUpdateSchema, ExcludedUpdate>;
  roundRecord: Describes<typeof RoundRecordSchema, RoundRecord>;
  dpAccounting: Describes<typeof DpAccountingSchema, DpAccounting>;
  updateSubmission: Describes<typeof UpdateSubmissionSchema, UpdateSubmission>;
  updateRecord: Describes<typeof UpdateRecordSchema, UpdateRecord>;
  roundTrail: Describes<typeof RoundTrailSchema, RoundTrail>;
  auditTrail: Describes<typeof AuditTrailSchema, AuditTrailDocument>;
  historyEntry: Describes<typeof HistoryEntrySchema, HistoryEntry>;
  roundSummary: Describes<typeof RoundSummarySchema, RoundSummary>;
  runStatus: Describes<typeof RunStatusSchema, RunStatusDocument>;
  roundDetails: Describes<typeof RoundDetailsSchema, RoundDetails>;
  uploadReply: Describes<typeof UploadReplySchema, UploadReply>;
  endorseReply: Describes<typeof EndorseReplySchema, EndorseReply>;
  commitReply: Describes<typeof CommitReplySchema, CommitReply>;
  submissionStatus: Describes<typeof SubmissionStatusSchema, SubmissionStatus>;
  keysRecord: Describes<typeof KeysRecordSchema, KeysRecord>;
  keyAdvertisementRequest: Describes<
    typeof KeyAdvertisementRequestSchema,
    Omit<KeyAdvertisement, 'mspId'>
  >;
  shareBundle: Describes<typeof ShareBundleSchema, ShareBundle>;
  reveal: Describes<typeof RevealSchema, Reveal>;
  keysUploadReply: Describes<typeof KeysUploadReplySchema, KeysUploadReply>;
  secAggBlobReply: Describes<typeof SecAggBlobReplySchema, SecAggBlobReply>;
}
