export { AuditLog, type AuditLogOptions } from './auditLog.js';
export { hashArguments } from './argsHash.js';
export { GENESIS_HASH } from './chain.js';
export { AuditError, type AuditErrorCode } from './errors.js';
export { verifyAuditLog, type VerifyOptions, type VerifyResult } from './verify.js';
export * from './types.js';
