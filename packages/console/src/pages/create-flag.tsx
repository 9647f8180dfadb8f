import { useState } from 'preact/hooks';
import { ApiError, call, seg } from '../api/client.js';
import type { Flag, FlagType, Variant } from '../api/types.js';
import { navigate } from '../router.js';
import { ErrorText, FieldError } from '../ui/errors.js';
import { useSubmit } from '../ui/use-submit.js';

const EXAMPLE_VARIANTS: Record<Exclude<FlagType, 'boolean'>, string> = {
  string: '[{"key": "a", "value": "blue"}, {"key": "b", "value": "green"}]',
  number: '[{"key": "low", "value": 10}, {"key": "high", "value": 50}]',
  json: '[{"key": "v1", "value": {"limit": 10}}]',
};

/** A new flag: off in every environment until someone turns it on. */
export function CreateFlag({ project, onCreated }: { project: string; onCreated: () => void }) {
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [type, setType] = useState<FlagType>('boolean');
  const [tags, setTags] = useState('');
  const [variants, setVariants] = useState('');
  const { error, general, setError, run } = useSubmit();
  const submit = (e: Event) => {
    e.preventDefault();
    let parsed: Variant[] | undefined;
    if (type !== 'boolean') {
      try {
        parsed = JSON.parse(variants) as Variant[];
      } catch {
        setError(new ApiError(400, 'VALIDATION_FAILED', 'variants must be a JSON array', { field: 'variants' }));
        return;
      }
    }
    const body = {
      key,
      name: name === '' ? key : name,
      type,
      tags: tags
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
      ...(parsed === undefined ? {} : { variants: parsed }),
    };
    return run(async () => {
      const { body: flag } = await call<Flag>('POST', `/projects/${seg(project)}/flags`, { body });
      onCreated();
      navigate(`/projects/${seg(project)}/flags/${seg(flag.key)}`);
    });
  };
  return (
    <details class="create">
      <summary>New flag</summary>
      <form onSubmit={submit}>
        <div class="row">
          <label>
            Key
            <input required value={key} onInput={(e) => setKey(e.currentTarget.value)} placeholder="search-v2" />
          </label>
          <label>
            Name
            <input value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="Search v2" />
          </label>
          <label>
            Type
            <select value={type} onChange={(e) => setType(e.currentTarget.value as FlagType)}>
              <option value="boolean">boolean</option>
              <option value="string">string</option>
              <option value="number">number</option>
              <option value="json">json</option>
            </select>
          </label>
          <label>
            Tags (comma-separated)
            <input value={tags} onInput={(e) => setTags(e.currentTarget.value)} placeholder="search, checkout" />
          </label>
        </div>
        <FieldError error={error} field="key" />
        <FieldError error={error} field="name" />
        <FieldError error={error} field="tags" />
        {type !== 'boolean' && (
          <>
            <label for="new-variants">Variants (JSON)</label>
            <textarea
              id="new-variants"
              rows={3}
              value={variants}
              placeholder={EXAMPLE_VARIANTS[type]}
              onInput={(e) => setVariants(e.currentTarget.value)}
            />
            <FieldError error={error} field="variants" />
          </>
        )}
        <ErrorText error={general} />
        <button type="submit" class="primary">
          Create flag
        </button>
      </form>
    </details>
  );
}
