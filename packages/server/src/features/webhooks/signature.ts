import { createHmac } from 'node:crypto';

/** The request header that carries the signature. */
export const SIGNATURE_HEADER = 'Switchyard-Signature';

/**
 * `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`: one `v1` per secret in force, each the
 * HMAC-SHA256, keyed with the secret's text, of `<t>.<body>`. Signing the time with the body
 * lets a receiver refuse a replayed request (docs/webhooks.md).
 */
export function signatureHeader(secrets: readonly string[], unixSeconds: number, body: string): string {
  const signed = `${unixSeconds}.${body}`;
  const parts = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(signed).digest('hex')}`);
  return [`t=${unixSeconds}`, ...parts].join(',');
}
