// Who is signed in (GET /users/current), shared by every page through a React context.
import { createContext, useContext } from 'react';
import type { SystemInfo, User } from './api';

export interface Session {
  user: User;
  info: SystemInfo;
  /** Reloads the user (after a change to it) or, after a logout, shows the login page. */
  refresh(): void;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

/** The host[:port] clients put in image names: the registry's external name. */
export function registryHost(info: SystemInfo): string {
  return info.registry_url || location.host;
}
