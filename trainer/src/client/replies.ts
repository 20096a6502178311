// Reading the gateway's replies: JSON bodies, headers, base64 fields; a reply that is not what
// the API promises is a GatewayReplyError.
import { GatewayReplyError } from './errors';
import type { TransportReply } from './https-transport';

/** The JSON body of a reply. @throws {GatewayReplyError} when it is not JSON. */
export function json<T>(reply: TransportReply, what: string): T {
  try {
    return JSON.parse(Buffer.from(reply.body).toString('utf8')) as T;
  } catch (err) {
    throw new GatewayReplyError(`${what}: the gateway's reply is not JSON.`, { cause: err });
  }
}

/** One header of a reply (the first, if repeated). */
export function header(reply: TransportReply, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A base64 field of a reply, decoded. @throws {GatewayReplyError} when it is missing. */
export function fromBase64(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' || value === '') {
    throw new GatewayReplyError(`the gateway's reply has no ${what}.`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}
