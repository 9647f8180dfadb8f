import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, asApiError, call, get, setCsrfToken, whenSignedOut } from './api/client.js';
import type { Me } from './api/types.js';
import { AuditPage } from './pages/audit.js';
import { ChangePassword } from './pages/change-password.js';
import { FlagPage } from './pages/flag.js';
import { KeysPage } from './pages/keys.js';
import { MembersPage } from './pages/members.js';
import { PeoplePage } from './pages/people.js';
import { PlanPage } from './pages/plan.js';
import { ProjectPage } from './pages/project.js';
import { ProjectsPage } from './pages/projects.js';
import { ResultsPage } from './pages/results.js';
import { SegmentsPage } from './pages/segments.js';
import { SignIn } from './pages/sign-in.js';
import { TokensPage } from './pages/tokens.js';
import { Link, match, navigate, useLocation } from './router.js';
import { SessionContext } from './session.js';
import { ErrorText } from './ui/errors.js';

type Auth =
  | { state: 'checking' }
  | { state: 'signed-out' }
  | { state: 'signed-in'; me: Me }
  | { state: 'failed'; error: ApiError };

async function whoAmI(): Promise<Auth> {
  try {
    const me = await get<Me>('/me');
    setCsrfToken(me.csrfToken);
    return { state: 'signed-in', me };
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return { state: 'signed-out' };
    return { state: 'failed', error: asApiError(err) };
  }
}

export function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const loc = useLocation();
  useEffect(() => {
    whenSignedOut(() => setAuth({ state: 'signed-out' }));
    void whoAmI().then(setAuth);
  }, []);

  if (auth.state === 'checking') return <p class="loading">Loading…</p>;
  if (auth.state === 'failed') return <ErrorText error={auth.error} />;
  if (auth.state === 'signed-out') {
    return (
      <SignIn
        onSignedIn={(token) => {
          setCsrfToken(token);
          void whoAmI().then(setAuth);
        }}
      />
    );
  }
  const signOut = async () => {
    try {
      await call('DELETE', '/session');
    } finally {
      setCsrfToken(null);
      setAuth({ state: 'signed-out' });
      navigate('/');
    }
  };
  if (auth.me.user?.mustChangePassword === true) {
    return (
      <ChangePassword
        email={auth.me.user.email}
        onChanged={() => void whoAmI().then(setAuth)}
        onSignOut={() => void signOut()}
      />
    );
  }
  const inProject = loc.path.match(/^\/projects\/([^/]+)/)?.[1];
  const projectKey = inProject === undefined ? undefined : decodeURIComponent(inProject);
  return (
    <SessionContext.Provider value={{ me: auth.me, signOut }}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          Switchyard
        </Link>
        {projectKey !== undefined && (
          <nav aria-label="Project">
            <Link href={`/projects/${projectKey}`}>Flags</Link>
            <Link href={`/projects/${projectKey}/segments`}>Segments</Link>
            <Link href={`/projects/${projectKey}/audit`}>Audit log</Link>
            <Link href={`/projects/${projectKey}/keys`}>SDK keys</Link>
            <Link href={`/projects/${projectKey}/members`}>Members</Link>
          </nav>
        )}
        {auth.me.user?.owner === true && <Link href="/people">People</Link>}
        {auth.me.user !== null && <Link href="/tokens">Tokens</Link>}
        <span class="who">{auth.me.user?.email ?? auth.me.name}</span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes path={loc.path} query={loc.query} />
      </main>
    </SessionContext.Provider>
  );
}

type Params = Record<string, string>;

/** The console's pages by path; the first pattern that matches renders. */
const ROUTES: [string, (p: Params, query: URLSearchParams) => JSX.Element][] = [
  ['/', () => <ProjectsPage />],
  ['/people', () => <PeoplePage />],
  ['/tokens', () => <TokensPage />],
  ['/projects/:project', (p) => <ProjectPage project={p.project as string} />],
  [
    '/projects/:project/segments',
    (p, q) => (
      <SegmentsPage
        project={p.project as string}
        env={q.get('env') ?? undefined}
        segment={q.get('segment') ?? undefined}
      />
    ),
  ],
  ['/projects/:project/audit', (p) => <AuditPage project={p.project as string} />],
  ['/projects/:project/keys', (p) => <KeysPage project={p.project as string} />],
  ['/projects/:project/members', (p) => <MembersPage project={p.project as string} />],
  [
    '/projects/:project/flags/:flag/plan/:env',
    (p) => <PlanPage project={p.project as string} flag={p.flag as string} env={p.env as string} />,
  ],
  [
    '/projects/:project/flags/:flag/results/:env',
    (p) => <ResultsPage project={p.project as string} flag={p.flag as string} env={p.env as string} />,
  ],
  [
    '/projects/:project/flags/:flag',
    (p, q) => <FlagPage project={p.project as string} flag={p.flag as string} env={q.get('env') ?? undefined} />,
  ],
];

function Routes({ path, query }: { path: string; query: URLSearchParams }) {
  for (const [pattern, render] of ROUTES) {
    const params = match(pattern, path);
    if (params !== null) return render(params, query);
  }
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No page at {path}. <Link href="/">All projects</Link>
      </p>
    </section>
  );
}
