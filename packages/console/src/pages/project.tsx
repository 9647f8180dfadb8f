import { get, seg } from '../api/client.js';
import type { Environment, Page, Project } from '../api/types.js';
import { useChanges } from '../live/changes.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';
import { EnvironmentList } from './environments.js';

/** One project: its environments, and its flags with each environment's state. */
export function ProjectPage({ project }: { project: string }) {
  const loaded = useLoad(async () => {
    const [info, envs] = await Promise.all([
      get<Project>(`/projects/${seg(project)}`),
      get<Page<Environment>>(`/projects/${seg(project)}/environments`),
    ]);
    return { info, environments: envs.items };
  }, [project]);
  useChanges(project, (entry) => {
    if (entry.targetKind === 'environment' || entry.targetKind === 'project') loaded.reload();
  });
  if (loaded.error !== undefined) return <ErrorText error={loaded.error} />;
  if (loaded.data === undefined) return <p class="loading">Loading…</p>;
  const { info, environments } = loaded.data;
  return (
    <section>
      <h1>{info.name}</h1>
      <EnvironmentList environments={environments} />
    </section>
  );
}
