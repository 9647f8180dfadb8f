import type { Environment } from '../api/types.js';

/** The project's environments with the version their SDKs are at. */
export function EnvironmentList({ environments }: { environments: Environment[] }) {
  return (
    <section aria-labelledby="envs-title">
      <h2 id="envs-title">Environments</h2>
      <ul class="envs">
        {environments.map((e) => (
          <li key={e.key}>
            <strong>{e.name}</strong> <code>{e.key}</code> <span class="muted">version {e.version}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
