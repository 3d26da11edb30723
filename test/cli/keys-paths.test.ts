import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultKeysFile, defaultStateDir } from '../../src/cli/paths.js';
import { runFutucli } from '../helpers/futucli.js';

test('keys.json defaults to where the reference product keeps it, per OS', () => {
  assert.equal(defaultKeysFile({ platform: 'linux', env: {}, home: '/home/ann' }), '/home/ann/.config/futu/keys.json');
  assert.equal(defaultKeysFile({ platform: 'linux', env: { XDG_CONFIG_HOME: '/cfg' }, home: '/home/ann' }), '/cfg/futu/keys.json');
  assert.equal(defaultKeysFile({ platform: 'linux', env: { XDG_CONFIG_HOME: 'rel' }, home: '/home/ann' }), '/home/ann/.config/futu/keys.json');
  assert.equal(defaultKeysFile({ platform: 'darwin', env: {}, home: '/Users/ann' }), '/Users/ann/Library/Application Support/futu/keys.json');
  assert.equal(
    defaultKeysFile({ platform: 'win32', env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, home: 'C:\\Users\\ann' }),
    'C:\\Users\\ann\\AppData\\Roaming\\futu\\keys.json',
  );
  assert.equal(defaultKeysFile({ platform: 'win32', env: {}, home: 'C:\\Users\\ann' }), 'C:\\Users\\ann\\AppData\\Roaming\\futu\\keys.json');
});

test('the state directory is futu-mcp’s own, per OS', () => {
  assert.equal(defaultStateDir({ platform: 'linux', env: {}, home: '/home/ann' }), '/home/ann/.local/state/futu-mcp');
  assert.equal(defaultStateDir({ platform: 'linux', env: { XDG_STATE_HOME: '/st' }, home: '/home/ann' }), '/st/futu-mcp');
  assert.equal(defaultStateDir({ platform: 'darwin', env: {}, home: '/Users/ann' }), '/Users/ann/Library/Application Support/futu-mcp/state');
  assert.equal(
    defaultStateDir({ platform: 'win32', env: { LOCALAPPDATA: 'D:\\Local' }, home: 'C:\\Users\\ann' }),
    'D:\\Local\\futu-mcp\\state',
  );
});

test('futucli uses the default keys file when --keys-file is not given', () => {
  const run = runFutucli(['-o', 'json', 'list-keys'], { env: { HOME: '/nonexistent-home', XDG_CONFIG_HOME: '/nonexistent-config' } });
  assert.equal(run.status, 0);
  assert.deepEqual(JSON.parse(run.stdout), { keys_file: '/nonexistent-config/futu/keys.json', keys: [] });
});
