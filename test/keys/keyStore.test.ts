import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { machineIdUnavailable } from '../../src/keys/errors.js';
import { MachineIdentity, machineFingerprint } from '../../src/keys/machine.js';
import { generatePlaintextKey, hashPlaintextKey } from '../../src/keys/material.js';
import { KeyStore } from '../../src/keys/store.js';
import type { KeyRecord } from '../../src/keys/types.js';
import { setLogSink } from '../../src/shared/log.js';
import { tempDir, writeFileWithMode } from '../helpers/futucli.js';

const HOST_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const HOST_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const EXPIRY = '2030-01-01T00:00:00.000Z';
const EXPIRY_MS = Date.parse(EXPIRY);

const onHost = (raw: string) => new MachineIdentity(() => ({ raw, source: 'test' }));
const unreadableHost = () =>
  new MachineIdentity(() => {
    throw machineIdUnavailable('test reader');
  });

interface Spec {
  id: string;
  plaintext?: string;
  expires_at?: string | null;
  allowed_machines?: string[] | null;
  scopes?: string[];
}

class Fixture {
  readonly file: string;
  readonly plaintexts = new Map<string, string>();

  constructor(t: TestContext) {
    this.file = join(tempDir(t), 'keys.json');
  }

  /** Writes keys.json with these keys (new plaintexts unless given). */
  write(specs: Spec[]): this {
    const keys = specs.map((spec) => {
      const plaintext = spec.plaintext ?? generatePlaintextKey();
      this.plaintexts.set(spec.id, plaintext);
      return {
        id: spec.id,
        hash: hashPlaintextKey(plaintext),
        scopes: spec.scopes ?? ['qot:read'],
        expires_at: spec.expires_at ?? null,
        allowed_machines: spec.allowed_machines ?? null,
      };
    });
    writeFileWithMode(this.file, { version: 1, keys });
    return this;
  }

  plaintext(id: string): string {
    return this.plaintexts.get(id)!;
  }
}

test('each plaintext authenticates as its own key; a one-character change does not', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha' }, { id: 'beta' }, { id: 'gamma' }]);
  const store = KeyStore.open(keys.file);
  for (const id of ['alpha', 'beta', 'gamma']) assert.equal(store.authenticate(keys.plaintext(id)).id, id);
  const genuine = keys.plaintext('beta');
  const lastChar = genuine.at(-1) === '0' ? '1' : '0';
  assert.throws(() => store.authenticate(genuine.slice(0, -1) + lastChar), { code: 'KEY_INVALID', message: 'invalid API key' });
  assert.throws(() => store.authenticate(genuine.toUpperCase()), { code: 'KEY_INVALID' });
  assert.throws(() => store.authenticate(generatePlaintextKey()), { code: 'KEY_INVALID' });
});

test('among thousands of keys each plaintext still finds exactly its own record, and a hash in the file is not a key', (t) => {
  const ids = Array.from({ length: 2000 }, (_, i) => `k${i}`);
  const keys = new Fixture(t).write(ids.map((id) => ({ id })));
  const store = KeyStore.open(keys.file);
  for (const id of ['k0', 'k999', 'k1999']) assert.equal(store.authenticate(keys.plaintext(id)).id, id);
  // The index is keyed by the hash: presenting the stored hash itself must not match anything.
  assert.throws(() => store.authenticate(hashPlaintextKey(keys.plaintext('k7'))), { code: 'KEY_INVALID' });
  assert.throws(() => store.authenticate(`sha256:${hashPlaintextKey(keys.plaintext('k7'))}`), { code: 'KEY_INVALID' });
});

test('an empty or blank key is missing, not invalid; surrounding whitespace is ignored', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha' }]);
  const store = KeyStore.open(keys.file);
  assert.throws(() => store.authenticate(''), { code: 'KEY_MISSING', message: 'API key missing' });
  assert.throws(() => store.authenticate(' \n'), { code: 'KEY_MISSING' });
  assert.equal(store.authenticate(`${keys.plaintext('alpha')}\n`).id, 'alpha');
});

test('a key stops working at the instant it expires', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha', expires_at: EXPIRY }]);
  const store = KeyStore.open(keys.file);
  const record = store.authenticate(keys.plaintext('alpha'), EXPIRY_MS - 1);
  assert.throws(() => store.authenticate(keys.plaintext('alpha'), EXPIRY_MS), { code: 'KEY_EXPIRED', message: 'key expired' });
  // A session that authenticated before expiry is cut off on its next call.
  assert.equal(store.refresh(record, EXPIRY_MS - 1).id, 'alpha');
  assert.throws(() => store.refresh(record, EXPIRY_MS + 1), { code: 'KEY_EXPIRED', message: 'key expired' });
});

test('revocation (deleting the record) applies to the next lookup after reload', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha' }, { id: 'beta' }]);
  const store = KeyStore.open(keys.file);
  const alpha = store.authenticate(keys.plaintext('alpha'));
  const betaPlaintext = keys.plaintext('beta');
  keys.write([{ id: 'beta', plaintext: betaPlaintext }]);
  // Before the reload the old snapshot is still in force.
  assert.equal(store.getById('alpha').id, 'alpha');
  assert.deepEqual(store.reload(), { ok: true, keys: 1 });
  assert.throws(() => store.getById('alpha'), { code: 'KEY_REVOKED', message: 'key revoked' });
  assert.throws(() => store.refresh(alpha), { code: 'KEY_REVOKED', message: 'key revoked' });
  // The revoked plaintext is named as revoked, under its own id, not as an unknown key.
  assert.throws(() => store.authenticate(keys.plaintext('alpha')), (err: unknown) => {
    const e = err as { code: string; message: string; details: Record<string, unknown> };
    return e.code === 'KEY_REVOKED' && e.message === 'key revoked' && e.details.key_id === 'alpha';
  });
  assert.throws(() => store.authenticate(generatePlaintextKey()), { code: 'KEY_INVALID' });
  assert.equal(store.authenticate(betaPlaintext).id, 'beta');
});

test('a revoked key that is restored to the file works again after reload', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha' }]);
  const alphaPlaintext = keys.plaintext('alpha');
  const store = KeyStore.open(keys.file);
  keys.write([]);
  store.reload();
  assert.throws(() => store.authenticate(alphaPlaintext), { code: 'KEY_REVOKED' });
  keys.write([{ id: 'alpha', plaintext: alphaPlaintext }]);
  store.reload();
  assert.equal(store.authenticate(alphaPlaintext).id, 'alpha');
});

test('a key re-created under the same id does not carry over to sessions of the old secret', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha', scopes: ['qot:read'] }]);
  const store = KeyStore.open(keys.file);
  const old = store.authenticate(keys.plaintext('alpha'));
  const oldPlaintext = keys.plaintext('alpha');
  keys.write([{ id: 'alpha', scopes: ['qot:read', 'trade:real'] }]);
  assert.equal(store.reload().ok, true);
  assert.throws(() => store.refresh(old), { code: 'KEY_REVOKED' });
  assert.throws(() => store.authenticate(oldPlaintext), { code: 'KEY_REVOKED' });
  assert.deepEqual(store.authenticate(keys.plaintext('alpha')).scopes, ['qot:read', 'trade:real']);
});

test('reload picks up scope and expiry changes for an authenticated session', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha', scopes: ['qot:read', 'trade:real'] }]);
  const store = KeyStore.open(keys.file);
  const plaintext = keys.plaintext('alpha');
  const session = store.authenticate(plaintext);
  keys.write([{ id: 'alpha', plaintext, scopes: ['qot:read'] }]);
  store.reload();
  assert.deepEqual(store.refresh(session).scopes, ['qot:read']);
  keys.write([{ id: 'alpha', plaintext, expires_at: '2020-01-01T00:00:00Z' }]);
  store.reload();
  assert.throws(() => store.refresh(session), { code: 'KEY_EXPIRED' });
});

test('a failed reload keeps the previous keys in force and reports why', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha' }]);
  const logged: string[] = [];
  setLogSink((line) => logged.push(line));
  const store = KeyStore.open(keys.file);
  const plaintext = keys.plaintext('alpha');

  writeFileWithMode(keys.file, '{"version": 1, "keys": [');
  const broken = store.reload();
  assert.equal(broken.ok, false);
  assert.equal(!broken.ok && broken.error.code, 'KEYS_FILE_INVALID');
  assert.equal(store.authenticate(plaintext).id, 'alpha');

  writeFileWithMode(keys.file, { version: 1, keys: [{ id: 'alpha', hash: hashPlaintextKey(plaintext), scopes: ['nope'] }] });
  const invalid = store.reload();
  assert.equal(!invalid.ok && invalid.error.message.startsWith('keys.json: key "alpha": scopes[0]: unknown scope "nope"'), true);
  assert.deepEqual(store.getById('alpha').scopes, ['qot:read']);

  keys.write([{ id: 'alpha', plaintext, scopes: ['acc:read'] }]);
  chmodSync(keys.file, 0o644);
  const exposed = store.reload();
  assert.equal(!exposed.ok && exposed.error.code, 'KEYS_FILE_PERMISSIONS');
  assert.deepEqual(store.getById('alpha').scopes, ['qot:read']);

  rmSync(keys.file);
  const missing = store.reload();
  assert.equal(!missing.ok && missing.error.code, 'KEYS_FILE_NOT_FOUND');
  assert.equal(store.authenticate(plaintext).id, 'alpha');

  const warnings = logged.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'keys reload failed; previous keys stay in force');
  assert.deepEqual(
    warnings.map((entry) => entry.code),
    ['KEYS_FILE_INVALID', 'KEYS_FILE_INVALID', 'KEYS_FILE_PERMISSIONS', 'KEYS_FILE_NOT_FOUND'],
  );
  assert.ok(logged.every((line) => !line.includes(plaintext) && !line.includes(hashPlaintextKey(plaintext))));
});

test('reloadOffThread answers as reload does: new, changed and revoked keys, the same errors, the old keys until it is done', async (t) => {
  const ids = Array.from({ length: 2500 }, (_, i) => `k${i}`);
  const keys = new Fixture(t).write(ids.map((id) => ({ id })));
  const store = KeyStore.open(keys.file);
  const k0 = keys.plaintext('k0');
  const k1 = keys.plaintext('k1');
  const [unchangedBefore, changedBefore] = [store.getById('k7'), store.getById('k0')];
  keys.write([{ id: 'k0', plaintext: k0, scopes: ['acc:read'] }, ...ids.slice(2).map((id) => ({ id, plaintext: keys.plaintext(id) })), { id: 'fresh' }]);
  const reloading = store.reloadOffThread();
  // Until the new snapshot is complete, every lookup is answered from the old one.
  assert.deepEqual(store.authenticate(k0).scopes, ['qot:read']);
  assert.equal(store.authenticate(k1).id, 'k1');
  assert.deepEqual(await reloading, { ok: true, keys: 2500 });
  assert.deepEqual(store.authenticate(k0).scopes, ['acc:read']);
  assert.throws(() => store.authenticate(k1), { code: 'KEY_REVOKED' });
  assert.equal(store.authenticate(keys.plaintext('fresh')).id, 'fresh');
  assert.equal(store.authenticate(keys.plaintext('k2499')).id, 'k2499');
  assert.ok(Object.isFrozen(store.getById('k7').scopes));
  // An unchanged key keeps its record (the copy received is dropped young); a changed one gets the new one.
  assert.equal(store.getById('k7'), unchangedBefore);
  assert.notEqual(store.getById('k0'), changedBefore);
  assert.ok(Object.isFrozen(store.getById('k0').limits));

  // Failures come back as the synchronous reload reports them, and change nothing.
  writeFileWithMode(keys.file, { version: 1, keys: [{ id: 'k0', hash: hashPlaintextKey(k0), scopes: ['nope'] }] });
  const invalid = await store.reloadOffThread();
  assert.equal(!invalid.ok && invalid.error.code, 'KEYS_FILE_INVALID');
  assert.equal(!invalid.ok && invalid.error.message.startsWith('keys.json: key "k0": scopes[0]: unknown scope "nope"'), true);
  rmSync(keys.file);
  const [missing, again] = await Promise.all([store.reloadOffThread(), store.reloadOffThread()]);
  assert.equal(!missing.ok && missing.error.code, 'KEYS_FILE_NOT_FOUND');
  assert.equal(!again.ok && again.error.code, 'KEYS_FILE_NOT_FOUND');
  assert.equal(store.authenticate(keys.plaintext('fresh')).id, 'fresh');
  assert.equal(store.list().length, 2500);
});

test('opening an invalid file throws instead of starting with no keys', (t) => {
  const file = writeFileWithMode(join(tempDir(t), 'keys.json'), { version: 1, keys: [{ id: 'x' }] });
  assert.throws(() => KeyStore.open(file), { code: 'KEYS_FILE_INVALID', message: 'keys.json: key "x": hash: required; scopes: required' });
});

test('openOffThread opens what open does, frozen, and refuses the same files with the same errors', async (t) => {
  const keys = new Fixture(t).write(Array.from({ length: 450 }, (_, i) => ({ id: `k${i}`, scopes: ['qot:read', 'acc:read'] })));
  const store = await KeyStore.openOffThread(keys.file);
  assert.deepEqual(store.list(), KeyStore.open(keys.file).list());
  assert.equal(store.authenticate(keys.plaintext('k449')).id, 'k449');
  assert.ok(Object.isFrozen(store.getById('k3').scopes));
  const invalid = writeFileWithMode(join(tempDir(t), 'keys.json'), { version: 1, keys: [{ id: 'x' }] });
  await assert.rejects(KeyStore.openOffThread(invalid), { code: 'KEYS_FILE_INVALID', message: 'keys.json: key "x": hash: required; scopes: required' });
  await assert.rejects(KeyStore.openOffThread(join(tempDir(t), 'absent.json')), { code: 'KEYS_FILE_NOT_FOUND' });
});

test('a key bound to this machine works here and nowhere else', (t) => {
  const keys = new Fixture(t).write([{ id: 'bound', allowed_machines: [machineFingerprint('bound', HOST_A)] }]);
  const plaintext = keys.plaintext('bound');
  assert.equal(KeyStore.open(keys.file, { machine: onHost(HOST_A) }).authenticate(plaintext).id, 'bound');
  assert.throws(() => KeyStore.open(keys.file, { machine: onHost(HOST_B) }).authenticate(plaintext), {
    code: 'KEY_NOT_BOUND',
    message: 'key not bound to this machine',
  });
});

test("one key's fingerprint does not bind another key to the same machine", (t) => {
  const keys = new Fixture(t).write([{ id: 'second', allowed_machines: [machineFingerprint('first', HOST_A)] }]);
  const store = KeyStore.open(keys.file, { machine: onHost(HOST_A) });
  assert.throws(() => store.authenticate(keys.plaintext('second')), { code: 'KEY_NOT_BOUND' });
});

test('a key bound to several machines works on each listed one', (t) => {
  const keys = new Fixture(t).write([
    { id: 'multi', allowed_machines: [machineFingerprint('multi', HOST_B), machineFingerprint('multi', HOST_A)] },
  ]);
  for (const host of [HOST_A, HOST_B]) {
    assert.equal(KeyStore.open(keys.file, { machine: onHost(host) }).authenticate(keys.plaintext('multi')).id, 'multi');
  }
});

test('a frozen key works on no machine', (t) => {
  const keys = new Fixture(t).write([{ id: 'frozen', allowed_machines: [] }]);
  for (const machine of [onHost(HOST_A), unreadableHost()]) {
    assert.throws(() => KeyStore.open(keys.file, { machine }).authenticate(keys.plaintext('frozen')), {
      code: 'KEY_NOT_BOUND',
    });
  }
});

test('when the machine id cannot be read, bound keys are refused and unbound keys still work', (t) => {
  const keys = new Fixture(t).write([
    { id: 'bound', allowed_machines: [machineFingerprint('bound', HOST_A)] },
    { id: 'free' },
  ]);
  const store = KeyStore.open(keys.file, { machine: unreadableHost() });
  assert.throws(() => store.authenticate(keys.plaintext('bound')), {
    code: 'MACHINE_ID_UNAVAILABLE',
    message: 'machine id unavailable (test reader): machine-bound keys are refused',
  });
  assert.equal(store.authenticate(keys.plaintext('free')).id, 'free');
});

test('binding changes apply to an authenticated session after reload', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha' }]);
  const plaintext = keys.plaintext('alpha');
  const store = KeyStore.open(keys.file, { machine: onHost(HOST_A) });
  const session = store.authenticate(plaintext);
  keys.write([{ id: 'alpha', plaintext, allowed_machines: [machineFingerprint('alpha', HOST_B)] }]);
  store.reload();
  assert.throws(() => store.refresh(session), { code: 'KEY_NOT_BOUND' });
});

test('reauthenticate answers exactly as authenticate does for the same plaintext, through reloads', (t) => {
  const keys = new Fixture(t).write([{ id: 'alpha', scopes: ['qot:read'], expires_at: EXPIRY }, { id: 'beta' }]);
  const store = KeyStore.open(keys.file);
  const alphaPlaintext = keys.plaintext('alpha');
  const earlier = store.authenticate(alphaPlaintext);
  const same = (now?: number) => {
    const outcome = (lookup: () => KeyRecord) => {
      try {
        const { id, scopes } = lookup();
        return { id, scopes };
      } catch (err) {
        return { code: (err as { code: string }).code };
      }
    };
    const expected = outcome(() => store.authenticate(alphaPlaintext, now));
    assert.deepEqual(outcome(() => store.reauthenticate(alphaPlaintext, earlier, now)), expected);
    return expected;
  };

  assert.deepEqual(same(), { id: 'alpha', scopes: ['qot:read'] });
  assert.deepEqual(same(EXPIRY_MS), { code: 'KEY_EXPIRED' });

  keys.write([{ id: 'alpha', plaintext: alphaPlaintext, scopes: ['acc:read'] }, { id: 'beta' }]);
  store.reload();
  assert.deepEqual(same(EXPIRY_MS + 1), { id: 'alpha', scopes: ['acc:read'] }, 'the record as it is now: new scopes, no expiry');

  keys.write([{ id: 'renamed', plaintext: alphaPlaintext }]);
  store.reload();
  assert.deepEqual(same(), { id: 'renamed', scopes: ['qot:read'] }, 'a renamed record is found again by its hash');

  keys.write([{ id: 'alpha' }]);
  store.reload();
  assert.deepEqual(same(), { code: 'KEY_REVOKED' }, 'the id now belongs to another secret');
  keys.write([]);
  store.reload();
  assert.deepEqual(same(), { code: 'KEY_REVOKED' });
});
