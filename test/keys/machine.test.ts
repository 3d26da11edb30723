import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  MACHINE_ID_FILE_ENV,
  MachineIdentity,
  machineFingerprint,
  normalizeFingerprint,
  readPlatformMachineId,
} from '../../src/keys/machine.js';
import { tempDir, writeFileWithMode } from '../helpers/futucli.js';

const RAW = '0123456789abcdef0123456789abcdef';
/** sha256("futu-machine-bind:v1:claude-bot:" + RAW), computed independently (Python hashlib). */
const EXPECTED = 'fp_11550a5f55a6d7e796db49ce2692210b12b421ddb5ae5633af06071cc17d12da';

test('the fingerprint is fp_ + SHA-256 of the documented binding string', () => {
  assert.equal(machineFingerprint('claude-bot', RAW), EXPECTED);
  assert.notEqual(machineFingerprint('claude-bot2', RAW), EXPECTED);
  assert.notEqual(machineFingerprint('claude-bot', RAW.replace('0', '1')), EXPECTED);
});

test('fingerprints are accepted bare or prefixed, in either case, and stored one way', () => {
  const hex = EXPECTED.slice(3);
  for (const written of [EXPECTED, hex, hex.toUpperCase(), `fp_${hex.toUpperCase()}`]) {
    assert.equal(normalizeFingerprint(written), EXPECTED);
  }
  for (const wrong of ['fp_bot_host_abc123', `fp_${hex}0`, hex.slice(1), `FP_${hex}`, `sha256:${hex}`, '']) {
    assert.equal(normalizeFingerprint(wrong), undefined, wrong);
  }
});

test('FUTU_MCP_MACHINE_ID_FILE supplies the raw id, trimmed', (t) => {
  const file = writeFileWithMode(join(tempDir(t), 'id'), `  ${RAW}\n`);
  assert.deepEqual(readPlatformMachineId({ [MACHINE_ID_FILE_ENV]: file }, 'linux'), { raw: RAW, source: file });
  const machine = new MachineIdentity(() => readPlatformMachineId({ [MACHINE_ID_FILE_ENV]: file }, 'linux'));
  assert.equal(machine.fingerprintFor('claude-bot'), EXPECTED);
});

test('a broken override fails closed instead of falling back to the OS id', (t) => {
  const dir = tempDir(t);
  const cases = {
    missing: join(dir, 'absent'),
    empty: writeFileWithMode(join(dir, 'empty'), ' \n'),
    uninitialized: writeFileWithMode(join(dir, 'uninit'), 'uninitialized\n'),
  };
  for (const [what, file] of Object.entries(cases)) {
    assert.throws(() => readPlatformMachineId({ [MACHINE_ID_FILE_ENV]: file }, 'linux'), {
      code: 'MACHINE_ID_UNAVAILABLE',
      message: `machine id unavailable (cannot read ${file}): machine-bound keys are refused`,
    }, what);
  }
});

test('a platform without a known source has no machine id', () => {
  assert.throws(() => readPlatformMachineId({}, 'aix'), { code: 'MACHINE_ID_UNAVAILABLE' });
});

test('an unbound key passes without reading the machine id; a frozen one never passes', () => {
  let reads = 0;
  const machine = new MachineIdentity(() => {
    reads++;
    return { raw: RAW, source: 'test' };
  });
  machine.assertBound('claude-bot', null);
  assert.throws(() => machine.assertBound('claude-bot', []), { code: 'KEY_NOT_BOUND' });
  assert.equal(reads, 0);
  machine.assertBound('claude-bot', ['fp_' + '0'.repeat(64), EXPECTED]);
  assert.throws(() => machine.assertBound('claude-bot', ['fp_' + '0'.repeat(64)]), { code: 'KEY_NOT_BOUND' });
});
