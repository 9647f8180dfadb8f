/** An SDK stream read as text, as far as it has come. */
export interface OpenStream {
  text(): string;
  /** Waits until the text read so far satisfies `done`; fails after `timeoutMs`. */
  until(done: (text: string) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens `GET /sdk/v1/stream` with `token` and returns once its first `put` has arrived. */
export async function openStream(baseUrl: string, token: string): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(`${baseUrl}/sdk/v1/stream`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  if (res.status !== 200 || res.body === null) throw new Error(`stream: ${res.status} ${await res.text()}`);
  let text = '';
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        for (const w of waiters) w();
      }
    } catch {
      // Aborted by close(), or cut by the server: the text read so far stays.
    }
  })();
  const stream: OpenStream = {
    text: () => text,
    until(done, timeoutMs = 10_000) {
      if (done(text)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the stream did not get there within ${timeoutMs} ms; it read:\n${text}`));
        }, timeoutMs);
        const check = () => {
          if (!done(text)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    close: () => controller.abort(),
  };
  await stream.until((t) => t.includes('event: put'));
  return stream;
}
