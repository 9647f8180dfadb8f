import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me, Role } from './api/types.js';

export interface Session {
  me: Me;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('useSession outside a signed-in page');
  return s;
}

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

/** Whether the signed-in caller holds at least `role` in `project` (the owner holds every role). */
export function mayAct(me: Me, project: string, role: Role): boolean {
  if (me.user?.owner === true) return true;
  const held = me.projects.find((p) => p.key === project)?.role;
  return held !== undefined && held !== null && RANK[held] >= RANK[role];
}
