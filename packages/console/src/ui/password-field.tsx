import { FieldError } from './errors.js';

/**
 * A password input with its label and the API's refusal of it. `autocomplete` tells password
 * managers whether to fill in the saved password or offer a new one.
 */
export function PasswordField(props: {
  id: string;
  label: string;
  autocomplete: 'current-password' | 'new-password';
  value: string;
  onInput: (value: string) => void;
  error: unknown;
  field: string;
  name?: string;
  required?: boolean;
  minLength?: number;
}) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.name}
        type="password"
        autocomplete={props.autocomplete}
        required={props.required}
        minLength={props.minLength}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      <FieldError error={props.error} field={props.field} />
    </>
  );
}
