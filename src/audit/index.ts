export { AuditLog, type AuditLogOptions } from './auditLog.js';
export { hashArguments } from './argsHash.js';
export { GENESIS_HASH } from './chain.js';
export { AuditError, type AuditErrorCode } from './errors.js';
export { verifyAuditLog, type VerifyOptions, type VerifyProgress, type VerifyResult } from './verify.js';
export type { RotationOptions } from './rotation.js';
export * from './types.js';
