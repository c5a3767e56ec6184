// @peculiar/x509 with Node's WebCrypto. Its dependency injection (tsyringe) needs the Reflect
// metadata polyfill loaded first, so every X.509 use goes through this module.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export type CryptoKey = webcrypto.CryptoKey;
