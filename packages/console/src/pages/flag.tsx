import { useState } from 'preact/hooks';
import { call, get, seg } from '../api/client.js';
import type { Config, Environment, Flag, Page } from '../api/types.js';
import { ConfigEditor } from '../flag/config-editor.js';
import { VariantsEditor } from '../flag/variants-editor.js';
import { KillDialog } from '../kill/kill-dialog.js';
import { useChanges } from '../live/changes.js';
import { Link } from '../router.js';
import { mayAct, useSession } from '../session.js';
import { ErrorText } from '../ui/errors.js';
import { useLoad } from '../ui/use-load.js';

/** A flag: its variants, and per environment its targets, rules, rollout and prerequisites. */
export function FlagPage(props: { project: string; flag: string; env: string | undefined }) {
  const { project, flag } = props;
  const { me } = useSession();
  const base = `/projects/${seg(project)}/flags/${seg(flag)}`;
  const meta = useLoad(async () => {
    const [info, envs] = await Promise.all([
      get<Flag>(base),
      get<Page<Environment>>(`/projects/${seg(project)}/environments`),
    ]);
    return { info, environments: envs.items };
  }, [project, flag]);
  const env = props.env ?? meta.data?.environments[0]?.key;
  const [dialog, setDialog] = useState<'kill' | 'revive'>();
  const [notice, setNotice] = useState<string>();
  // The configuration versions the person's own saves of the variants produced, per environment.
  const [own, setOwn] = useState<{ settling: boolean; versions: Record<string, number> }>({
    settling: false,
    versions: {},
  });
  const config = useLoad(async () => {
    if (env === undefined) return undefined;
    const { body, etag } = await call<Config>('GET', `${base}/environments/${seg(env)}`);
    return { ...body, version: etag === undefined ? body.version : Number(etag) };
  }, [base, env]);
  // Someone else's change to this flag shows at once; an editor with unsaved changes asks first.
  useChanges(project, (entry) => {
    if (entry.targetKind === 'flag' && entry.targetKey === flag) {
      meta.reload();
      config.reload();
    }
  });
  if (meta.error !== undefined) return <ErrorText error={meta.error} />;
  if (meta.data === undefined) return <p class="loading">Loading…</p>;
  const { info, environments } = meta.data;
  const canEdit = mayAct(me, project, 'editor');
  return (
    <section>
      <p>
        <Link href={`/projects/${seg(project)}`}>← Flags</Link>
      </p>
      <h1>
        {info.name} <code>{info.key}</code>
      </h1>
      <p class="muted">
        {info.type} flag{info.clientSide ? ', visible to browsers' : ''}
        {info.archived ? ', archived' : ''}. {info.description}
      </p>
      <p>
        {info.tags.map((t) => (
          <span class="tag" key={t}>
            {t}
          </span>
        ))}
      </p>
      <VariantsEditor
        project={project}
        flag={info}
        canEdit={canEdit}
        onSaving={() => setOwn((o) => ({ ...o, settling: true }))}
        onSettled={(caused) => {
          setOwn((o) => ({ settling: false, versions: { ...o.versions, ...caused } }));
          meta.reload();
          config.reload();
        }}
        onStale={meta.reload}
      />
      <nav class="tabs" aria-label="Environments">
        {environments.map((e) => (
          <Link key={e.key} href={`${base}?env=${seg(e.key)}`} aria-current={e.key === env ? 'page' : undefined}>
            {e.name} {info.environments?.[e.key]?.enabled === true ? '(on)' : '(off)'}
          </Link>
        ))}
      </nav>
      {env !== undefined && (
        <p>
          <Link href={`${base}/plan/${seg(env)}`}>Release plan in {env}</Link> ·{' '}
          <Link href={`${base}/results/${seg(env)}`}>Experiment results in {env}</Link>
        </p>
      )}
      {canEdit && config.data !== undefined && env !== undefined && (
        <div class="killbar">
          <strong>Kill switch</strong>
          <span>
            {config.data.enabled ? `On in ${env}: a kill serves the off variant to everyone.` : `Off in ${env}.`}
          </span>
          {config.data.enabled ? (
            <button type="button" id="kill-switch" class="kill" onClick={() => setDialog('kill')}>
              Kill in {env}
            </button>
          ) : (
            <button type="button" id="kill-switch" onClick={() => setDialog('revive')}>
              Revive in {env}
            </button>
          )}
        </div>
      )}
      {notice !== undefined && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {dialog !== undefined && env !== undefined && (
        <KillDialog
          target={{ kind: 'flag', project, flag, env, revive: dialog === 'revive' }}
          onClose={() => setDialog(undefined)}
          onDone={(message) => {
            setDialog(undefined);
            setNotice(message);
            config.reload();
            meta.reload();
          }}
        />
      )}
      <ErrorText error={config.error} />
      {config.data !== undefined && env !== undefined && (
        <ConfigEditor
          key={config.data.environment}
          project={project}
          flag={info}
          config={config.data}
          canEdit={canEdit}
          onSaved={() => {
            config.reload();
            meta.reload();
          }}
          onStale={config.reload}
          ownVersion={own.versions[config.data.environment]}
          settling={own.settling}
        />
      )}
    </section>
  );
}
