import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../errors.js';
import { clientState } from './client-state.js';

function machine() {
  const events: string[] = [];
  const state = clientState((event, ...args) => {
    events.push(args[0] === undefined ? event : `${event}:${(args[0] as SwitchyardError).code}`);
  });
  return { state, events };
}

const lost = new SwitchyardError('STREAM_FAILED', 'stream lost');

describe('the client state', () => {
  it('is ready once current, stale when the server is lost, and ready again when it is back', async () => {
    const { state, events } = machine();
    expect(state.status).toBe('initializing');
    state.current();
    state.current();
    state.lost(lost, true);
    state.lost(lost, true);
    state.current();
    expect(events).toEqual(['ready', 'stale:STREAM_FAILED', 'ready']);
    expect(state.status).toBe('ready');
    await expect(state.ready).resolves.toBeUndefined();
  });

  it('stays initializing when the server is lost with nothing to serve', () => {
    const { state, events } = machine();
    state.lost(lost, false);
    expect(state.status).toBe('initializing');
    expect(events).toEqual([]);
  });

  it('serves cached or bootstrap flags when the server is lost first: ready, then stale at once', async () => {
    const { state, events } = machine();
    state.lost(lost, true);
    expect(events).toEqual(['ready', 'stale:STREAM_FAILED']);
    expect(state.status).toBe('stale');
    await expect(state.ready).resolves.toBeUndefined();
  });

  it('serves a cache read after the server was found unreachable, with that error', () => {
    const { state, events } = machine();
    state.served();
    expect(events).toEqual([]);
    state.lost(lost, false);
    state.served();
    expect(events).toEqual(['ready', 'stale:STREAM_FAILED']);
  });

  it('fails for good: nothing moves it but close, and waitForReady rejects with the failure', async () => {
    const { state, events } = machine();
    const refused = new SwitchyardError('UNAUTHORIZED', 'key refused', 401);
    state.fail(refused);
    state.current();
    state.lost(lost, true);
    expect(state.status).toBe('failed');
    expect(events).toEqual([]);
    await expect(state.ready).rejects.toBe(refused);
    state.close();
    expect(state.status).toBe('closed');
    await expect(state.ready).rejects.toBe(refused);
  });

  it('rejects with CLOSED when closed before it was ready, and stays resolved when closed after', async () => {
    const early = machine().state;
    early.close();
    await expect(early.ready).rejects.toMatchObject({ code: 'CLOSED', message: 'switchyard: closed before ready' });
    early.current();
    expect(early.status).toBe('closed');
    const late = machine().state;
    late.current();
    late.close();
    await expect(late.ready).resolves.toBeUndefined();
  });
});

describe('SwitchyardError', () => {
  it('prefixes its message and keeps its code, status and cause', () => {
    const cause = new Error('ECONNRESET');
    const error = new SwitchyardError('STREAM_FAILED', 'stream: reset', 503, cause);
    expect(error).toBeInstanceOf(Error);
    expect([error.name, error.code, error.message, error.status, error.cause]).toEqual([
      'SwitchyardError',
      'STREAM_FAILED',
      'switchyard: stream: reset',
      503,
      cause,
    ]);
  });
});
