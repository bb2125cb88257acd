// @peculiar/x509, loaded the one way it works: reflect-metadata first, Node's WebCrypto as the
// provider. Every module of src/tls imports the library through this file.
import { webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export * from '@peculiar/x509';
