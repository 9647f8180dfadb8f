import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';

export interface Asset {
  type: string;
  /** The content, or the path of a file read on each request. */
  body: string | { file: string };
}

/**
 * Serves the test pages and bundles from their own origin on loopback, so that a page still
 * loads while the flag server is down, and talks to the flag server cross-origin, as a real site would.
 */
export class PageServer {
  private constructor(
    private readonly server: Server,
    private readonly assets: Record<string, Asset>,
    readonly url: string,
  ) {}

  /** Serves `asset` at `path` from now on. */
  set(path: string, asset: Asset): void {
    this.assets[path] = asset;
  }

  static async start(initial: Record<string, Asset>): Promise<PageServer> {
    const assets = { ...initial };
    const server = createServer((req, res) => {
      const asset = assets[new URL(req.url ?? '/', 'http://x').pathname];
      if (asset === undefined) {
        res.writeHead(404).end();
        return;
      }
      const body = typeof asset.body === 'string' ? Promise.resolve(asset.body) : readFile(asset.body.file, 'utf8');
      body.then(
        (text) => res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the page server has no port');
    return new PageServer(server, assets, `http://127.0.0.1:${address.port}`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const html = (body: string): Asset => ({
  type: 'text/html; charset=utf-8',
  body: `<!doctype html><html><head><meta charset="utf-8"><title>switchyard test</title></head><body>${body}</body></html>`,
});
