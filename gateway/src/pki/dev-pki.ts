// Certificates for running without a Fabric network (simulated ledger) and for the gateway's own
// HTTPS server: one CA per organisation, an ECDSA P-256 client identity per organisation, and a
// server certificate for 127.0.0.1/localhost and the address the gateway serves. Files are laid
// out like the Fabric network's connection.json identities, so the trainer and the gateway read
// both the same way.
import { X509Certificate, webcrypto } from 'node:crypto';
import type { webcrypto as WebCrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

type CryptoKey = WebCrypto.CryptoKey;
type CryptoKeyPair = WebCrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** Where one identity's files are. */
export interface IdentityFiles {
  mspId: string;
  certPath: string;
  keyPath: string;
  /** The CA that issued `certPath` (the organisation's CA). */
  caCertPath: string;
  /** Fabric peer this identity connects to (Fabric networks only). */
  peer?: string;
}

/** A TLS server identity. */
export interface TlsFiles {
  certPath: string;
  keyPath: string;
  caCertPath: string;
}

/** An organisation to create identities for. */
export interface DevOrg {
  /** Identity name (`hospital1`, `auditor`, `coordinator`). */
  name: string;
  mspId: string;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

async function newCa(
  commonName: string,
): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 5 * YEAR_MS),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  return { cert, keys };
}

async function issue(
  ca: { cert: x509.X509Certificate; keys: CryptoKeyPair },
  subject: string,
  extensions: x509.Extension[],
): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + YEAR_MS),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true), ...extensions],
  });
  return { cert, key: keys.privateKey };
}

/**
 * Creates a CA and one client identity for each organisation under `dir`, and writes
 * `dir/identities.json` ({ identities: { name: IdentityFiles } }). Existing files are reused.
 */
export async function ensureDevIdentities(
  dir: string,
  orgs: readonly DevOrg[],
): Promise<Record<string, IdentityFiles>> {
  const indexPath = join(dir, 'identities.json');
  try {
    const existing = JSON.parse(await readFile(indexPath, 'utf8')) as {
      identities: Record<string, IdentityFiles>;
    };
    if (orgs.every((o) => existing.identities[o.name]?.mspId === o.mspId))
      return existing.identities;
  } catch {
    // not created yet
  }
  const identities: Record<string, IdentityFiles> = {};
  for (const org of orgs) {
    const orgDir = join(dir, org.name);
    await mkdir(orgDir, { recursive: true });
    const ca = await newCa(`ca.${org.name}.fedledger.local`);
    const user = await issue(
      ca,
      `CN=User1@${org.name}.fedledger.local, OU=client, O=${org.mspId}`,
      [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
    );
    const files: IdentityFiles = {
      mspId: org.mspId,
      certPath: join(orgDir, 'cert.pem'),
      keyPath: join(orgDir, 'key.pem'),
      caCertPath: join(orgDir, 'ca.pem'),
    };
    await writeFile(files.caCertPath, ca.cert.toString('pem'));
    await writeFile(files.certPath, user.cert.toString('pem'));
    await writeFile(files.keyPath, await pkcs8Pem(user.key), { mode: 0o600 });
    identities[org.name] = files;
  }
  await writeFile(indexPath, `${JSON.stringify({ identities }, null, 2)}\n`);
  return identities;
}

/** True when the certificate's subject alternative names cover every one of `hosts`. */
function certificateNames(certPem: string, hosts: readonly string[]): boolean {
  const cert = new X509Certificate(certPem);
  return hosts.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
}

/**
 * The gateway's HTTPS server certificate and the CA clients trust it by, under `dir`; created on
 * first use, and made again (CA included) when it does not name every one of `hosts` (the
 * addresses or names the gateway is reached at; localhost and 127.0.0.1 always).
 */
export async function ensureServerTls(
  dir: string,
  hosts: readonly string[] = [],
): Promise<TlsFiles> {
  const files: TlsFiles = {
    certPath: join(dir, 'server-cert.pem'),
    keyPath: join(dir, 'server-key.pem'),
    caCertPath: join(dir, 'ca.pem'),
  };
  const names = [...new Set(['localhost', '127.0.0.1', ...hosts])].filter(
    (h) => h !== '0.0.0.0' && h !== '::',
  );
  try {
    const cert = await readFile(files.certPath, 'utf8');
    await readFile(files.keyPath);
    await readFile(files.caCertPath);
    if (certificateNames(cert, names)) return files;
  } catch {
    // not created yet
  }
  await mkdir(dir, { recursive: true });
  const ca = await newCa('fedledger gateway TLS CA');
  const server = await issue(
    ca,
    `CN=${names.find((n) => n !== '127.0.0.1' && n !== 'localhost') ?? 'localhost'}`,
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) =>
          isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n },
        ),
      ),
    ],
  );
  await writeFile(files.caCertPath, ca.cert.toString('pem'));
  await writeFile(files.certPath, server.cert.toString('pem'));
  await writeFile(files.keyPath, await pkcs8Pem(server.key), { mode: 0o600 });
  return files;
}
