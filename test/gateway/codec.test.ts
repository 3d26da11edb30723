import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KL_TYPE, SUB_TYPE, TRD_MARKET } from '../../src/gateway/enums.js';
import { GatewayError } from '../../src/gateway/errors.js';
import { encodeFrame } from '../../src/gateway/frame.js';
import { decodeRequest, encodeRequest } from '../../src/gateway/proto.js';
import { ProtoId } from '../../src/gateway/protoIds.js';
import { md5Hex, parseU64, timeBound } from '../../src/gateway/validate.js';

const invalidArgument = (err: unknown): boolean => err instanceof GatewayError && err.code === 'INVALID_ARGUMENT';

describe('wire encoding', () => {
  test('reproduces the reference InitConnect frame byte for byte', () => {
    const body = encodeRequest(ProtoId.InitConnect, {
      clientVer: 100, clientID: 'ts-futu', recvNotify: true, packetEncAlgo: -1, pushProtoFmt: 0, programmingLanguage: 'TypeScript',
    });
    assert.equal(Buffer.from(body).toString('hex'), '0a260864120774732d66757475180120ffffffffffffffffff012800320a54797065536372697074');
    const header = encodeFrame(ProtoId.InitConnect, 1, body).subarray(0, 44).toString('hex');
    // "FT" | protoID 1001 | fmt 0 | ver 0 | serial 1 | bodyLen 40 | SHA-1 of the plaintext | reserved
    assert.equal(header, ['4654', 'e9030000', '00', '00', '01000000', '28000000', 'ff545791f3944f08ac10e1d60fc78926da453a5a', '0000000000000000'].join(''));
  });

  test('64-bit ids survive encoding exactly, from decimal strings or bigints; undefined fields are skipped', () => {
    const c2s = { packetID: { connID: '18446744073709551615', serialNo: 7 }, header: { trdEnv: 1, accID: 2n ** 63n + 1n, trdMarket: 1 },
      orderID: '9007199254740993', modifyOrderOp: 2, qty: undefined, price: undefined };
    const decoded = decodeRequest(ProtoId.Trd_ModifyOrder, encodeRequest(ProtoId.Trd_ModifyOrder, c2s));
    assert.deepEqual(decoded, {
      packetID: { connID: '18446744073709551615', serialNo: 7 },
      header: { trdEnv: 1, accID: '9223372036854775809', trdMarket: 1 },
      orderID: '9007199254740993',
      modifyOrderOp: 2,
    });
  });
});

describe('argument checks', () => {
  test('parseU64 accepts exactly the decimal strings of 0 .. 2^64-1', () => {
    assert.equal(parseU64('18446744073709551615', 'accId'), '18446744073709551615');
    assert.equal(parseU64('007', 'accId'), '7');
    for (const bad of ['18446744073709551616', '-1', '1e3', '0x10', ' 1', '', '1.0', 123, 2n ** 60n, null]) {
      assert.throws(() => parseU64(bad, 'accId'), invalidArgument, String(bad));
    }
  });

  test('timeBound widens bare dates to whole days and refuses other formats', () => {
    assert.equal(timeBound('2026-03-01', 'begin'), '2026-03-01 00:00:00');
    assert.equal(timeBound('2026-03-01', 'end'), '2026-03-01 23:59:59');
    assert.equal(timeBound('2026-03-01 09:30:00', 'end'), '2026-03-01 09:30:00');
    for (const bad of ['2026-13-01', '01/03/2026', '2026-03-01T09:30:00', 'today', 20260301]) {
      assert.throws(() => timeBound(bad, 'begin'), invalidArgument, String(bad));
    }
  });

  test('md5Hex takes a 32-digit hex digest (sent lowercase) and nothing that looks like a password', () => {
    assert.equal(md5Hex('E10ADC3949BA59ABBE56E057F20F883E'), 'e10adc3949ba59abbe56e057f20f883e');
    for (const bad of ['123456', 'e10adc3949ba59abbe56e057f20f883', 'g'.repeat(32), undefined]) {
      assert.throws(() => md5Hex(bad), invalidArgument, String(bad));
    }
  });

  test('enum names map to OpenD values and back; unknown values read UNKNOWN', () => {
    assert.equal(KL_TYPE.value('K_DAY', 'klType'), 2);
    assert.equal(SUB_TYPE.value('K_DAY', 'subType'), 6);
    assert.equal(SUB_TYPE.value('BROKER', 'subType'), 14);
    assert.equal(TRD_MARKET.name(4), 'HKCC');
    assert.equal(TRD_MARKET.name(999), 'UNKNOWN');
    assert.throws(() => KL_TYPE.value('toString', 'klType'), invalidArgument);
    assert.throws(() => SUB_TYPE.value('K_2D', 'subType'), (err: unknown) => invalidArgument(err) && /K_DAY/.test((err as Error).message));
  });
});
