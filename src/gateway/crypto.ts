import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * OpenD encryption. Client and OpenD share one RSA private key (PKCS#1 PEM): InitConnect travels
 * RSA-encrypted (PKCS#1 v1.5, public key, chunked), everything after it AES-128 with the key
 * OpenD hands out in InitConnect: CBC when OpenD returns an IV, Futu's "FTAES-ECB" otherwise.
 */
export interface PacketCipher {
  encrypt(plain: Uint8Array): Buffer;
  decrypt(wire: Uint8Array): Buffer;
}

export class CipherError extends Error {}

export const plainCipher: PacketCipher = {
  encrypt: (plain) => Buffer.from(plain),
  decrypt: (wire) => Buffer.from(wire),
};

export class RsaCipher implements PacketCipher {
  private readonly publicKey: KeyObject;
  private readonly blockBytes: number;
  /** py-futu-api encrypts 100-byte chunks with a 1024-bit key; scale that for other sizes. */
  private readonly chunkBytes: number;

  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
    const bits = privateKey.asymmetricKeyDetails?.modulusLength;
    if (privateKey.asymmetricKeyType !== 'rsa' || !bits) throw new CipherError('RSA private key expected');
    this.blockBytes = bits / 8;
    this.chunkBytes = this.blockBytes - 28;
  }

  static fromPemFile(file: string): RsaCipher {
    return RsaCipher.fromPem(readFileSync(file, 'utf8'));
  }

  static fromPem(pem: string): RsaCipher {
    try {
      return new RsaCipher(createPrivateKey(pem));
    } catch (err) {
      throw new CipherError(`cannot read RSA private key: ${(err as Error).message}`);
    }
  }

  encrypt(plain: Uint8Array): Buffer {
    const out: Buffer[] = [];
    for (let i = 0; i < plain.length || i === 0; i += this.chunkBytes) {
      const chunk = plain.subarray(i, i + this.chunkBytes);
      out.push(publicEncrypt({ key: this.publicKey, padding: constants.RSA_PKCS1_PADDING }, chunk));
      if (plain.length === 0) break;
    }
    return Buffer.concat(out);
  }

  decrypt(wire: Uint8Array): Buffer {
    if (wire.length === 0 || wire.length % this.blockBytes !== 0) throw new CipherError('RSA ciphertext length is not a whole number of blocks');
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i += this.blockBytes) {
      // Node 20 refuses RSA_PKCS1_PADDING for private decryption (CVE-2023-46809); unpad by hand.
      const raw = privateDecrypt({ key: this.privateKey, padding: constants.RSA_NO_PADDING }, wire.subarray(i, i + this.blockBytes));
      out.push(stripPkcs1Type2(raw));
    }
    return Buffer.concat(out);
  }
}

/** EME-PKCS1-v1_5 decoding: 00 02 PS(>= 8 non-zero bytes) 00 M. */
function stripPkcs1Type2(block: Buffer): Buffer {
  if (block[0] !== 0x00 || block[1] !== 0x02) throw new CipherError('bad PKCS#1 padding');
  const sep = block.indexOf(0x00, 2);
  if (sep < 10) throw new CipherError('bad PKCS#1 padding');
  return block.subarray(sep + 1);
}

function aesKey(key: string): Buffer {
  const buf = Buffer.from(key, 'latin1');
  if (buf.length !== 16) throw new CipherError('AES key must be 16 bytes');
  return buf;
}

/** AES-128-CBC with PKCS#7; a fresh cipher per packet, so every packet starts from the same IV. */
export class AesCbcCipher implements PacketCipher {
  private readonly key: Buffer;
  private readonly iv: Buffer;
  constructor(key: string, iv: string) {
    this.key = aesKey(key);
    this.iv = aesKey(iv);
  }
  encrypt(plain: Uint8Array): Buffer {
    const c = createCipheriv('aes-128-cbc', this.key, this.iv);
    return Buffer.concat([c.update(plain), c.final()]);
  }
  decrypt(wire: Uint8Array): Buffer {
    try {
      const d = createDecipheriv('aes-128-cbc', this.key, this.iv);
      return Buffer.concat([d.update(wire), d.final()]);
    } catch {
      throw new CipherError('AES-CBC decryption failed');
    }
  }
}

/**
 * FTAES-ECB: zero-pad to 16, ECB-encrypt, then append a 16-byte block that is zero except its
 * last byte, which carries plaintext length % 16.
 */
export class FtAesEcbCipher implements PacketCipher {
  private readonly key: Buffer;
  constructor(key: string) {
    this.key = aesKey(key);
  }
  encrypt(plain: Uint8Array): Buffer {
    const mod = plain.length % 16;
    const padded = Buffer.alloc(plain.length + (mod === 0 ? 0 : 16 - mod));
    padded.set(plain);
    const c = createCipheriv('aes-128-ecb', this.key, null).setAutoPadding(false);
    const tail = Buffer.alloc(16);
    tail[15] = mod;
    return Buffer.concat([c.update(padded), c.final(), tail]);
  }
  decrypt(wire: Uint8Array): Buffer {
    if (wire.length < 16 || wire.length % 16 !== 0) throw new CipherError('FTAES-ECB ciphertext length is not a multiple of 16');
    const mod = wire[wire.length - 1]!;
    if (mod > 15) throw new CipherError('FTAES-ECB tail block is malformed');
    const d = createDecipheriv('aes-128-ecb', this.key, null).setAutoPadding(false);
    const plain = Buffer.concat([d.update(wire.subarray(0, wire.length - 16)), d.final()]);
    return mod === 0 ? plain : plain.subarray(0, plain.length - (16 - mod));
  }
}

/** The cipher for packets after InitConnect, as OpenD decides from its InitConnect answer. */
export function sessionCipher(connAESKey: string, aesCBCiv: string | undefined): PacketCipher {
  return aesCBCiv ? new AesCbcCipher(connAESKey, aesCBCiv) : new FtAesEcbCipher(connAESKey);
}
