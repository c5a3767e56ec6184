// The PIV management key's block cipher: one ECB block with 3DES or AES, no padding, as
// GENERAL AUTHENTICATE's witness and challenge use it. Pure (node:crypto only).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { managementKeyAlgorithms, type ManagementKeyAlgorithm } from './protocol.ts';

const cipherName: Record<ManagementKeyAlgorithm, string> = {
  TDES: 'des-ede3',
  AES128: 'aes-128-ecb',
  AES192: 'aes-192-ecb',
  AES256: 'aes-256-ecb',
};

function oneBlock(
  isEncrypt: boolean,
  algorithm: ManagementKeyAlgorithm,
  key: Uint8Array,
  block: Uint8Array,
): Uint8Array {
  const facts = managementKeyAlgorithms[algorithm];
  if (key.length !== facts.keyLength)
    throw new RangeError(`${algorithm} management keys are ${facts.keyLength} bytes`);
  if (block.length !== facts.blockLength)
    throw new RangeError(`${algorithm} blocks are ${facts.blockLength} bytes`);
  const cipher = isEncrypt
    ? createCipheriv(cipherName[algorithm], key, null)
    : createDecipheriv(cipherName[algorithm], key, null);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(block), cipher.final()]));
}

export const encryptBlock = (a: ManagementKeyAlgorithm, key: Uint8Array, block: Uint8Array) =>
  oneBlock(true, a, key, block);
export const decryptBlock = (a: ManagementKeyAlgorithm, key: Uint8Array, block: Uint8Array) =>
  oneBlock(false, a, key, block);

export function managementKeyAlgorithmOf(code: number): ManagementKeyAlgorithm | undefined {
  return (Object.keys(managementKeyAlgorithms) as ManagementKeyAlgorithm[]).find(
    (a) => managementKeyAlgorithms[a].code === code,
  );
}
