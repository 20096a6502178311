// JSON Schemas of the REST API: records, request bodies and replies (see records.ts).
export * from './records';
export * from './requests';
export * from './replies';
export * from './type-checks';
export * from './secagg';
