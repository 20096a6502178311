// Who a caller is: the organisation whose CA issued its certificate, and that organisation's role.
// The same PKI as Fabric: a hospital's REST client certificate is its Fabric enrolment certificate.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { p256 } from '@noble/curves/p256';
import { AccessDeniedError, SignatureError } from '../errors';
import type { IdentityFiles } from './dev-pki';

/** What an organisation may do through the gateway. */
export type OrgRole = 'hospital' | 'auditor' | 'coordinator';

/** An organisation the gateway knows: its MSP ID, role and CA certificate(s). */
export interface Organisation {
  mspId: string;
  role: OrgRole;
  caCertificatesPem: string[];
}

/** An authenticated caller. */
export interface Principal {
  mspId: string;
  role: OrgRole;
  commonName: string;
  /** SHA-256 of the certificate's DER bytes, hex. */
  fingerprint: string;
  certificatePem: string;
}

/** SHA-256 of a certificate's DER encoding, hex (what the ledger records as the fingerprint). */
export function certificateFingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

function commonNameOf(cert: X509Certificate): string {
  const match = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject);
  return match?.[1] ?? cert.subject;
}

/** The set of organisations whose certificates the gateway accepts. */
export class OrganisationDirectory {
  private readonly orgs: { org: Organisation; cas: X509Certificate[] }[];

  constructor(
    organisations: readonly Organisation[],
    private readonly now: () => Date = () => new Date(),
  ) {
    this.orgs = organisations.map((org) => ({
      org,
      cas: org.caCertificatesPem.map((pem) => new X509Certificate(pem)),
    }));
  }

  /** MSP IDs of the organisations with `role`. */
  mspIds(role: OrgRole): string[] {
    return this.orgs.filter((o) => o.org.role === role).map((o) => o.org.mspId);
  }

  /**
   * The principal a certificate stands for.
   * @throws {AccessDeniedError} FL_ERR_UNKNOWN_CA when no configured CA issued it, or it is not
   * valid now.
   */
  identify(certificate: string | Uint8Array): Principal {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(
        typeof certificate === 'string' ? certificate : Buffer.from(certificate),
      );
    } catch {
      throw new AccessDeniedError('FL_ERR_UNKNOWN_CA', 'the client certificate cannot be parsed');
    }
    const now = this.now();
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
      throw new AccessDeniedError(
        'FL_ERR_UNKNOWN_CA',
        `the client certificate is valid from ${cert.validFrom} to ${cert.validTo}, not now`,
      );
    }
    for (const { org, cas } of this.orgs) {
      for (const ca of cas) {
        if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) {
          return {
            mspId: org.mspId,
            role: org.role,
            commonName: commonNameOf(cert),
            fingerprint: certificateFingerprint(cert),
            certificatePem: cert.toString(),
          };
        }
      }
    }
    throw new AccessDeniedError(
      'FL_ERR_UNKNOWN_CA',
      `the client certificate (${cert.subject.replace(/\n/g, ', ')}) is not issued by any organisation this gateway knows`,
    );
  }
}

/**
 * True when `signature` (DER, ECDSA P-256, as Fabric signers produce) signs `digest` (already a
 * SHA-256) under the certificate's public key.
 */
export function verifyDigestSignature(
  certificatePem: string,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const jwk = new X509Certificate(certificatePem).publicKey.export({ format: 'jwk' });
    if (jwk.crv !== 'P-256' || jwk.x === undefined || jwk.y === undefined) return false;
    const publicKey = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x, 'base64url'),
      Buffer.from(jwk.y, 'base64url'),
    ]);
    return p256.verify(signature, digest, publicKey, {
      prehash: false,
      lowS: false,
      format: 'der',
    });
  } catch {
    return false;
  }
}

/** The role of a connection.json / identities.json identity name. */
export function roleOfIdentity(name: string): OrgRole | undefined {
  if (/^hospital\d+$/.test(name)) return 'hospital';
  if (name === 'auditor') return 'auditor';
  if (name === 'coordinator') return 'coordinator';
  return undefined;
}

/** The organisations (one per MSP ID) behind a set of named identities. */
export function organisationsOf(
  identities: Record<string, Pick<IdentityFiles, 'mspId' | 'caCertPath'>>,
): Organisation[] {
  const byMsp = new Map<string, Organisation>();
  for (const [name, id] of Object.entries(identities)) {
    const role = roleOfIdentity(name);
    if (!role) continue;
    const ca = readFileSync(id.caCertPath, 'utf8');
    const org = byMsp.get(id.mspId) ?? { mspId: id.mspId, role, caCertificatesPem: [] };
    if (!org.caCertificatesPem.includes(ca)) org.caCertificatesPem.push(ca);
    byMsp.set(id.mspId, org);
  }
  return [...byMsp.values()];
}

/**
 * Checks a hospital's signature of one offline-signing step.
 * @throws {SignatureError} naming the step when it does not verify against the certificate.
 */
export function checkStepSignature(
  submitter: { mspId: string; certificatePem: string },
  step: 'proposal' | 'transaction',
  digest: Uint8Array,
  signature: Uint8Array,
): void {
  if (!verifyDigestSignature(submitter.certificatePem, digest, signature)) {
    throw new SignatureError(
      `the ${step} signature does not verify against ${submitter.mspId}'s certificate`,
      { step },
    );
  }
}
