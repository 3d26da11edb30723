import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTradePasswordMd5, storeTradePassword, tradePasswordMd5 } from '../../src/keys/tradePassword.js';

test('the digest is the lowercase hex MD5 of the UTF-8 password', () => {
  assert.equal(tradePasswordMd5('123456'), 'e10adc3949ba59abbe56e057f20f883e');
  assert.equal(tradePasswordMd5('密码'), 'a8105204604a0b11e916f3879aae3b0b');
});

test('FUTU_TRADE_PWD wins, trimmed, without touching the keychain', async () => {
  // An unreachable bus proves the keychain is not consulted.
  const env = { FUTU_TRADE_PWD: ' 123456\n', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' };
  assert.deepEqual(await loadTradePasswordMd5(env), { md5: 'e10adc3949ba59abbe56e057f20f883e', source: 'env' });
});

test('an empty password is refused before anything is stored', async () => {
  for (const blank of ['', '  \t\n']) {
    await assert.rejects(storeTradePassword(blank), {
      code: 'TRADE_PASSWORD_INPUT',
      message: 'cannot take the trade password: it is empty',
    });
  }
});
