import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertPrivateStateDir } from '../../src/shared/privateDir.js';
import { readKeysFile } from '../../src/keys/file.js';
import { childEnv, FUTUCLI, tempDir, writeFileWithMode } from '../helpers/futucli.js';

const NOBODY = 65534;
const notRoot = process.getuid?.() !== 0 && 'chown to another user needs root';

test('a state directory others can write is refused with the fix, before futu-mcp reads it', (t) => {
  const state = join(tempDir(t), 'state');
  mkdirSync(join(state, 'ledger'), { recursive: true, mode: 0o700 });
  assert.doesNotThrow(() => assertPrivateStateDir(state));
  chmodSync(state, 0o777);
  assert.throws(() => assertPrivateStateDir(state), {
    code: 'STATE_DIR_UNSAFE',
    message: `state directory entry ${state} is writable by group or others (mode 0777), who could reset the limits kept there; run: chmod -R go-w ${state}`,
  });
  chmodSync(state, 0o700);
  chmodSync(join(state, 'ledger'), 0o770);
  assert.throws(() => assertPrivateStateDir(state), { code: 'STATE_DIR_UNSAFE', message: new RegExp(`^state directory entry ${join(state, 'ledger')} is writable by group`) });
  // A directory that does not exist yet is fine: it is created 0700 on first use.
  assert.doesNotThrow(() => assertPrivateStateDir(join(state, 'absent')));
  // Files too: a ledger file others can write is refused like its directory.
  chmodSync(join(state, 'ledger'), 0o700);
  writeFileSync(join(state, 'ledger', 'key-x.json'), '{}', { mode: 0o600 });
  assert.doesNotThrow(() => assertPrivateStateDir(state));
  chmodSync(join(state, 'ledger', 'key-x.json'), 0o666);
  assert.throws(() => assertPrivateStateDir(state), {
    code: 'STATE_DIR_UNSAFE',
    message: new RegExp(`^state directory entry ${join(state, 'ledger', 'key-x.json')} is writable by group or others \\(mode 0666\\)`),
  });
  chmodSync(join(state, 'ledger', 'key-x.json'), 0o600);

  // futu-mcp itself refuses to start on it, with that message.
  chmodSync(join(state, 'ledger'), 0o777);
  const keysFile = join(tempDir(t), 'keys.json');
  writeFileWithMode(keysFile, '{"version":1,"keys":[]}');
  const run = spawnSync(process.execPath, [join(FUTUCLI, '..', 'futu-mcp.js'), '--gateway', 'sim', '--keys-file', keysFile, '--state-dir', state], {
    env: childEnv(),
    input: '',
    encoding: 'utf8',
  });
  assert.equal(run.status, 1);
  assert.match(run.stderr, new RegExp(`futu-mcp: state directory entry ${join(state, 'ledger')} is writable by group or others \\(mode 0777\\).*run: chmod -R go-w ${state}\\n`));
});

test('a state directory entry another user owns is refused (that user deleted the ledger to reset the day)', { skip: notRoot }, (t) => {
  const state = join(tempDir(t), 'state');
  mkdirSync(join(state, 'ledger'), { recursive: true, mode: 0o700 });
  writeFileSync(join(state, 'ledger', 'key-x.json'), '{}', { mode: 0o600 });
  chownSync(join(state, 'ledger'), NOBODY, NOBODY);
  assert.throws(() => assertPrivateStateDir(state), {
    code: 'STATE_DIR_UNSAFE',
    message: `state directory entry ${join(state, 'ledger')} is owned by uid ${NOBODY}, not by this user (uid 0), who could reset the limits kept there; run: chown -R 0 ${state}`,
  });
});

test('keys.json owned by another user is refused even with mode 0600 (root-owned is fine)', { skip: notRoot }, (t) => {
  const file = join(tempDir(t), 'keys.json');
  writeFileWithMode(file, '{"version":1,"keys":[]}');
  assert.deepEqual(readKeysFile(file), []);
  chownSync(file, NOBODY, NOBODY);
  assert.throws(() => readKeysFile(file), {
    code: 'KEYS_FILE_OWNER',
    message: `keys file ${file} is owned by uid ${NOBODY}, not by this user (uid 0) or root, so that user could add keys; run: chown 0 ${file}`,
  });
});
