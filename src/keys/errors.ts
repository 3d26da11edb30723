import { FutuError } from '../shared/errors.js';

/**
 * Errors of API keys, machine binding and the trade password. Each code has exactly one message
 * builder below, so the wording a client or operator sees is stable and reviewed in one place.
 * No builder takes a secret: plaintext keys, passwords and digests never reach a message.
 */
export type CredentialErrorCode =
  | 'KEY_MISSING'
  | 'KEY_INVALID'
  | 'KEY_EXPIRED'
  | 'KEY_REVOKED'
  | 'KEY_NOT_BOUND'
  | 'KEY_NOT_FOUND'
  | 'KEY_ID_TAKEN'
  | 'KEY_OPTION_INVALID'
  | 'KEY_NOT_SHOWN'
  | 'KEYS_FILE_NOT_FOUND'
  | 'KEYS_FILE_INVALID'
  | 'KEYS_FILE_PERMISSIONS'
  | 'KEYS_FILE_OWNER'
  | 'KEYS_FILE_LOCKED'
  | 'MACHINE_ID_UNAVAILABLE'
  | 'TRADE_PASSWORD_UNAVAILABLE'
  | 'TRADE_PASSWORD_INPUT'
  | 'KEYCHAIN_UNAVAILABLE';

export class CredentialError extends FutuError {
  declare readonly code: CredentialErrorCode;
  constructor(code: CredentialErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

export const keyMissing = () => new CredentialError('KEY_MISSING', 'API key missing');
export const keyInvalid = () => new CredentialError('KEY_INVALID', 'invalid API key');
export const keyExpired = (keyId: string) => new CredentialError('KEY_EXPIRED', 'key expired', { key_id: keyId });
export const keyRevoked = (keyId: string) => new CredentialError('KEY_REVOKED', 'key revoked', { key_id: keyId });
export const keyNotBound = (keyId: string) =>
  new CredentialError('KEY_NOT_BOUND', 'key not bound to this machine', { key_id: keyId });

export const keyNotFound = (keyId: string) =>
  new CredentialError('KEY_NOT_FOUND', `no key with id "${keyId}"`, { key_id: keyId });
export const keyIdTaken = (keyId: string) =>
  new CredentialError('KEY_ID_TAKEN', `a key with id "${keyId}" already exists (revoke it first or pick another id)`, {
    key_id: keyId,
  });
/** A futucli option that does not describe a valid key; `problem` names the option. */
export const keyOptionInvalid = (problem: string) =>
  new CredentialError('KEY_OPTION_INVALID', `invalid key option: ${problem}`);

/** gen-key could not print the new key (stdout closed: EPIPE); the record was taken back out. */
export const keyNotShown = (keyId: string, cause: string) =>
  new CredentialError(
    'KEY_NOT_SHOWN',
    `could not print the new key "${keyId}" (${cause}), so it was not kept; run gen-key again and keep its first lines (the key is on line 2)`,
    { key_id: keyId },
  );
export const keysFileNotFound = (file: string) =>
  new CredentialError('KEYS_FILE_NOT_FOUND', `keys file not found: ${file}`, { file });
/** `problem` already carries the file label and, where known, the key id and field. */
export const keysFileInvalid = (problem: string) => new CredentialError('KEYS_FILE_INVALID', problem);
export const keysFilePermissions = (file: string, mode: number) =>
  new CredentialError(
    'KEYS_FILE_PERMISSIONS',
    `keys file ${file} is accessible by group or others (mode ${formatMode(mode)}); run: chmod 600 ${file}`,
    { file },
  );
/** keys.json owned by a user other than this process's (or root): that user could mint keys. */
export const keysFileOwner = (file: string, owner: number, self: number) =>
  new CredentialError(
    'KEYS_FILE_OWNER',
    `keys file ${file} is owned by uid ${owner}, not by this user (uid ${self}) or root, so that user could add keys; run: chown ${self} ${file}`,
    { file },
  );
export const keysFileLocked = (lockFile: string) =>
  new CredentialError(
    'KEYS_FILE_LOCKED',
    `keys file is being changed by another futucli (lock ${lockFile}); if none is running, delete the lock file`,
    { lock_file: lockFile },
  );

export const machineIdUnavailable = (reason: string) =>
  new CredentialError('MACHINE_ID_UNAVAILABLE', `machine id unavailable (${reason}): machine-bound keys are refused`);

export const tradePasswordUnavailable = () =>
  new CredentialError(
    'TRADE_PASSWORD_UNAVAILABLE',
    'trade password not configured: run futucli set-trade-pwd or set FUTU_TRADE_PWD',
  );
/** The operator's entry could not be taken (empty, mismatched, cancelled, no terminal). */
export const tradePasswordInput = (problem: string) =>
  new CredentialError('TRADE_PASSWORD_INPUT', `cannot take the trade password: ${problem}`);
/** `reason` comes from the keychain library (e.g. a D-Bus error) and never contains the secret. */
export const keychainUnavailable = (reason: string) =>
  new CredentialError(
    'KEYCHAIN_UNAVAILABLE',
    `OS keychain unavailable: ${reason}; without a keychain (e.g. a headless server), set the trade password in the FUTU_TRADE_PWD environment variable of futu-mcp and futucli instead`,
  );

function formatMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}
