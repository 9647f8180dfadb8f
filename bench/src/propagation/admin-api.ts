import http from 'node:http';
import { monotonicMs } from './client-protocol.js';

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  /** When the status line arrived: the API's answer as the caller sees it. */
  readonly answeredAt: number;
  readonly sentAt: number;
}

/** The management API of one instance, over one kept-alive connection, as an operator's script would use it. */
export class AdminApi {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly port: number,
    private readonly token: string,
    private readonly timeoutMs: number,
  ) {}

  request(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const sentAt = monotonicMs();
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          },
        },
        (res) => {
          const answeredAt = monotonicMs();
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // Not JSON: kept as text for the error message.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, answeredAt, sentAt });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} took over ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like `request`, but anything other than `expected` is an error. */
  async expect(expected: number, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const answer = await this.request(method, path, body);
    if (answer.status !== expected) {
      throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    return answer;
  }

  close(): void {
    this.agent.destroy();
  }
}
