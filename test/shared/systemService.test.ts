import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/futucli.js';
import { serviceGate } from '../helpers/systemService.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/service-test.js', import.meta.url));

/** Runs the fixture under node's test runner (TAP) with the given PATH and CI. */
function runFixture(env: { PATH: string; CI?: string }): { status: number | null; tap: string } {
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', FIXTURE], {
    env: { PATH: env.PATH, SERVICE_TEST_BINARY: 'fake-service-daemon', ...(env.CI ? { CI: env.CI } : {}) },
    encoding: 'utf8',
  });
  return { status: run.status, tap: run.stdout };
}

test('a service test without its binary is skipped with the reason in its name, and fails under CI=true', (t) => {
  const empty = tempDir(t);
  const local = runFixture({ PATH: empty });
  assert.equal(local.status, 0, local.tap);
  assert.match(
    local.tap,
    /ok 1 - needs the fake service \[skipped: fake-service not installed: fake-service-daemon not on PATH \(apt-get install fake-service\)\] # SKIP/,
  );
  const ci = runFixture({ PATH: empty, CI: 'true' });
  assert.notEqual(ci.status, 0);
  assert.match(ci.tap, /not ok 1 - needs the fake service \[needs fake-service not installed: fake-service-daemon not on PATH/);
  assert.match(ci.tap, /CI=true requires fake-service not installed/);
});

test('a service test whose binary is on PATH runs its body', (t) => {
  const bin = tempDir(t);
  writeFileSync(join(bin, 'fake-service-daemon'), '#!/bin/sh\n');
  chmodSync(join(bin, 'fake-service-daemon'), 0o755);
  for (const CI of [undefined, 'true']) {
    const run = runFixture({ PATH: bin, CI });
    assert.notEqual(run.status, 0);
    assert.match(run.tap, /not ok 1 - needs the fake service\n/);
    assert.match(run.tap, /the body ran/);
  }
});

test('a describe gated on a service (serviceGate): skipped with the reason in its name; under CI=true it runs; with the binary it runs as named', (t) => {
  const saved = { PATH: process.env.PATH, CI: process.env.CI };
  t.after(() => {
    process.env.PATH = saved.PATH;
    if (saved.CI === undefined) delete process.env.CI;
    else process.env.CI = saved.CI;
  });
  const service = { name: 'fake-service', binaries: ['fake-service-daemon'], install: 'apt-get install fake-service' };
  const reason = 'fake-service not installed: fake-service-daemon not on PATH (apt-get install fake-service)';
  process.env.PATH = tempDir(t);
  delete process.env.CI;
  assert.deepEqual(serviceGate('shared state', service), { name: `shared state [skipped: ${reason}]`, skip: reason });
  process.env.CI = 'true';
  assert.deepEqual(serviceGate('shared state', service), { name: `shared state [needs ${reason}]`, skip: false });
  const bin = tempDir(t);
  writeFileSync(join(bin, 'fake-service-daemon'), '#!/bin/sh\n');
  chmodSync(join(bin, 'fake-service-daemon'), 0o755);
  process.env.PATH = bin;
  assert.deepEqual(serviceGate('shared state', service), { name: 'shared state', skip: false });
});
