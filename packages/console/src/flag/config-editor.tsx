import { useState } from 'preact/hooks';
import { call, seg } from '../api/client.js';
import type { Config, Flag } from '../api/types.js';
import { DraftSaveOutcome } from '../ui/draft-save-outcome.js';
import { FieldError } from '../ui/errors.js';
import { useDraft } from '../ui/use-draft.js';
import { useDraftSave } from '../ui/use-draft-save.js';
import { PrerequisitesEditor } from './prerequisites-editor.js';
import { RulesEditor } from './rules-editor.js';
import { ServeEditor } from './serve-editor.js';
import { TargetsEditor } from './targets-editor.js';

type Draft = Pick<Config, 'enabled' | 'offVariant' | 'prerequisites' | 'targets' | 'rules' | 'defaultServe'>;

const draftOf = (c: Config): Draft => ({
  enabled: c.enabled,
  offVariant: c.offVariant,
  prerequisites: c.prerequisites,
  targets: c.targets,
  rules: c.rules,
  defaultServe: c.defaultServe,
});

/**
 * One environment's configuration of a flag, edited as a draft and saved with one `PATCH`
 * guarded by the version the draft was started from (`If-Match`): a change someone made
 * meanwhile is refused (412) rather than overwritten, and one arriving live while the draft has
 * unsaved changes asks whether to reload or keep the draft.
 */
export function ConfigEditor(props: {
  project: string;
  config: Config;
  flag: Flag;
  canEdit: boolean;
  onSaved: (c: Config) => void;
  /** The save met a newer version than the page holds: have it read again. */
  onStale: () => void;
  /** The version this environment's configuration got from the person's own save of the flag's variants. */
  ownVersion: number | undefined;
  /** That save is still in flight. */
  settling: boolean;
}) {
  const { config, flag } = props;
  const drafted = useDraft(config, draftOf, (c) => c.version, {
    settling: props.settling,
    // The version alone could also be a rewrite by someone else right after; an untouched
    // configuration keeps its `updatedAt`.
    ours: (next, base) => next.version === props.ownVersion && next.updatedAt === base.updatedAt,
  });
  const { draft } = drafted;
  const [reason, setReason] = useState('');
  const saving = useDraftSave(drafted, props.onStale);
  const { error } = saving;
  const change = (d: Partial<Draft>) => saving.change({ ...draft, ...d });
  const save = (e: Event) => {
    e.preventDefault();
    return saving.run(async () => {
      const body = reason === '' ? draft : { ...draft, reason };
      const { body: next } = await call<Config>(
        'PATCH',
        `/projects/${seg(props.project)}/flags/${seg(flag.key)}/environments/${seg(config.environment)}`,
        { body, ifMatch: drafted.base.version },
      );
      setReason('');
      saving.succeeded();
      props.onSaved(next);
    });
  };
  return (
    <form onSubmit={save} aria-label={`Configuration in ${config.environment}`}>
      <fieldset disabled={!props.canEdit}>
        <legend>Serving</legend>
        <label class="inline">
          <input
            type="checkbox"
            checked={draft.enabled}
            onChange={(e) => change({ enabled: e.currentTarget.checked })}
          />
          On in {config.environment} (off serves the off variant to everyone)
        </label>
        <FieldError error={error} field="enabled" />
        <label for="off-variant">Off variant</label>
        <select
          id="off-variant"
          value={draft.offVariant ?? ''}
          onChange={(e) => change({ offVariant: e.currentTarget.value === '' ? null : e.currentTarget.value })}
        >
          <option value="">(the code's default value)</option>
          {flag.variants.map((v) => (
            <option key={v.key} value={v.key}>
              {v.key}
            </option>
          ))}
        </select>
        <FieldError error={error} field="offVariant" />
        <PrerequisitesEditor
          prerequisites={draft.prerequisites}
          error={error}
          onChange={(prerequisites) => change({ prerequisites })}
        />
        <TargetsEditor
          targets={draft.targets}
          variants={flag.variants}
          error={error}
          onChange={(targets) => change({ targets })}
        />
        <RulesEditor
          rules={draft.rules}
          variants={flag.variants}
          error={error}
          onChange={(rules) => change({ rules })}
        />
        <ServeEditor
          serve={draft.defaultServe}
          variants={flag.variants}
          id="default"
          field="defaultServe"
          error={error}
          label="Everyone else (default)"
          onChange={(defaultServe) => change({ defaultServe })}
        />
        <label for="change-reason">Reason for the change (shown in the audit log)</label>
        <input id="change-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <FieldError error={error} field="reason" />
        <DraftSaveOutcome what="configuration" savedText="Saved." drafted={drafted} save={saving} />
        <button type="submit" class="primary" disabled={saving.busy}>
          Save {config.environment}
        </button>
      </fieldset>
    </form>
  );
}
