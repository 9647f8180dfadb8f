import { useEffect, useRef } from 'preact/hooks';
import type { AuditEntry } from '../api/types.js';

/**
 * The management change stream of one project (`GET /api/v1/projects/:project/changes`, SSE):
 * each `change` event carries one audit entry. The browser sends the session cookie and
 * reconnects by itself with `Last-Event-ID`; one stream serves every listener of the project.
 */
interface Stream {
  source: EventSource;
  listeners: Set<(entry: AuditEntry) => void>;
}

const streams = new Map<string, Stream>();

function open(project: string): Stream {
  const source = new EventSource(`/api/v1/projects/${encodeURIComponent(project)}/changes`, { withCredentials: true });
  const stream: Stream = { source, listeners: new Set() };
  source.addEventListener('change', (e) => {
    let entry: AuditEntry;
    try {
      entry = JSON.parse((e as MessageEvent<string>).data) as AuditEntry;
    } catch {
      return;
    }
    for (const l of stream.listeners) l(entry);
  });
  return stream;
}

/** Calls `onChange` for each change in `project` while the component is on screen. */
export function useChanges(project: string | undefined, onChange: (entry: AuditEntry) => void): void {
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => {
    if (project === undefined) return;
    const stream = streams.get(project) ?? open(project);
    streams.set(project, stream);
    const listener = (entry: AuditEntry) => latest.current(entry);
    stream.listeners.add(listener);
    return () => {
      stream.listeners.delete(listener);
      if (stream.listeners.size === 0) {
        stream.source.close();
        streams.delete(project);
      }
    };
  }, [project]);
}
