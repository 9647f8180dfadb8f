import type { CallOptions, TestServer } from './server.js';

export interface SignedIn {
  userId: string;
  email: string;
  /** The `Cookie` header the browser would send back. */
  cookie: string;
  csrfToken: string;
  /** Call options for a cookie-authenticated request, with the CSRF header. */
  as: (extra?: Record<string, string>) => CallOptions;
}

export const PASSWORD = 'correct horse battery staple';

/** Signs a person in; the `Cookie` header is what the response's `Set-Cookie` asks the browser to send. */
export async function signIn(s: TestServer, email: string, password = PASSWORD): Promise<SignedIn> {
  const res = await s.call('POST', '/api/v1/session', { email, password }, { token: null });
  if (res.statusCode !== 200) throw new Error(`sign-in of ${email}: ${res.statusCode} ${res.body}`);
  const setCookie = String(res.headers['set-cookie']);
  const cookie = setCookie.split(';')[0] as string;
  const body = res.json();
  return {
    userId: body.user.id,
    email: body.user.email,
    cookie,
    csrfToken: body.csrfToken,
    as: (extra = {}) => ({ token: null, headers: { cookie, 'x-csrf-token': body.csrfToken, ...extra } }),
  };
}

/** Creates a person (as the test server's organisation admin key), optionally a member of a project. */
export async function createPerson(
  s: TestServer,
  email: string,
  membership?: { project: string; role: 'viewer' | 'editor' | 'admin' },
): Promise<string> {
  const user = await s.ok('POST', '/api/v1/users', { email, password: PASSWORD, mustChangePassword: false });
  if (membership !== undefined) {
    await s.ok('POST', `/api/v1/projects/${membership.project}/members`, { email, role: membership.role });
  }
  return user.id;
}
