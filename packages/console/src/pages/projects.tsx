import { Link } from '../router.js';
import { useSession } from '../session.js';

/** The projects the signed-in person has a role in (every project, for the owner). */
export function ProjectsPage() {
  const { me } = useSession();
  return (
    <section>
      <h1>Projects</h1>
      {me.projects.length === 0 ? (
        <p>You have no role in any project yet: ask a project's admin to add you.</p>
      ) : (
        <ul class="cards">
          {me.projects.map((p) => (
            <li key={p.key}>
              <Link href={`/projects/${encodeURIComponent(p.key)}`}>{p.name}</Link>
              <span class="muted">
                {' '}
                {p.key} · {p.role ?? (me.user?.owner === true ? 'owner' : 'no role')}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
