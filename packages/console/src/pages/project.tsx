import { useState } from 'preact/hooks';
import { get, seg } from '../api/client.js';
import type { Environment, Page, Project } from '../api/types.js';
import { KillDialog } from '../kill/kill-dialog.js';
import { useChanges } from '../live/changes.js';
import { mayAct, useSession } from '../session.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';
import { CreateFlag } from './create-flag.js';
import { EnvironmentList } from './environments.js';
import { FlagList } from './flag-list.js';

/** One project: its environments, and its flags with each environment's state. */
export function ProjectPage({ project }: { project: string }) {
  const loaded = useLoad(async () => {
    const [info, envs] = await Promise.all([
      get<Project>(`/projects/${seg(project)}`),
      get<Page<Environment>>(`/projects/${seg(project)}/environments`),
    ]);
    return { info, environments: envs.items };
  }, [project]);
  // Bumped to have the flag list read again: after a write here, or a change by someone else.
  const [refresh, setRefresh] = useState(0);
  const [killing, setKilling] = useState(false);
  const [notice, setNotice] = useState<string>();
  const { me } = useSession();
  useChanges(project, (entry) => {
    if (entry.targetKind === 'environment' || entry.targetKind === 'project') loaded.reload();
    if (entry.targetKind === 'flag') setRefresh((n) => n + 1);
  });
  if (loaded.error !== undefined) return <ErrorText error={loaded.error} />;
  if (loaded.data === undefined) return <p class="loading">Loading…</p>;
  const { info, environments } = loaded.data;
  return (
    <section>
      <h1>{info.name}</h1>
      {mayAct(me, project, 'editor') && (
        <>
          <div class="killbar">
            <strong>Incident?</strong>
            <span>Turn off every flag with a tag in one environment, at once.</span>
            <button type="button" class="kill" onClick={() => setKilling(true)}>
              Kill by tag
            </button>
          </div>
          <CreateFlag project={project} onCreated={() => setRefresh((n) => n + 1)} />
        </>
      )}
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {killing && (
        <KillDialog
          target={{ kind: 'tag', project, environments }}
          onClose={() => setKilling(false)}
          onDone={(message) => {
            setKilling(false);
            setNotice(message);
            setRefresh((n) => n + 1);
          }}
        />
      )}
      <FlagList project={project} environments={environments} refresh={refresh} />
      <EnvironmentList environments={environments} />
    </section>
  );
}
