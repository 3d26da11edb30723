import { FutuError } from '../shared/errors.js';

export type AuditErrorCode = 'AUDIT_WRITE_FAILED' | 'AUDIT_READ_FAILED';

/**
 * The message is deliberately generic: it reaches the MCP client, while the concrete cause (a path,
 * an errno) goes to the operational log only.
 */
export class AuditError extends FutuError {
  declare readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, message: string) {
    super(code, message);
  }
}

export const auditUnavailable = (): AuditError =>
  new AuditError('AUDIT_WRITE_FAILED', 'audit log unavailable: call denied');
