import type { EventBatch } from './event-aggregator.js';
import type { Http } from './platform.js';

export type SendOutcome = { sent: true } | { sent: false; problem: string; retry: boolean };

/** Posts one batch to `POST /sdk/v1/events`; never rejects. */
export async function sendEvents(
  http: Http,
  target: { baseUrl: string; sdkKey: string; requestTimeoutMs: number },
  batch: EventBatch,
): Promise<SendOutcome> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${target.sdkKey}` };
  try {
    const response = await http.request({
      method: 'POST',
      url: `${target.baseUrl}/sdk/v1/events`,
      headers,
      body: JSON.stringify(batch),
      timeoutMs: target.requestTimeoutMs,
    });
    if (response.status >= 200 && response.status < 300) return { sent: true };
    // A refused batch would be refused again; a server error or overload may pass later.
    return {
      sent: false,
      problem: `the server answered ${response.status}`,
      retry: response.status >= 500 || response.status === 429,
    };
  } catch (err) {
    return { sent: false, problem: err instanceof Error ? err.message : String(err), retry: true };
  }
}
