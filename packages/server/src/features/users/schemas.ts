import { z } from 'zod';
import { ROLES } from '../../auth/principal.js';
import { Timestamp } from '../../http/common-schemas.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password.js';

/**
 * An email as people type it; stored trimmed and lower-cased. Only its shape is checked, one
 * `@` between non-blank parts: the first start's `owner@localhost` has no dotted domain.
 */
export const Email = z
  .string()
  .max(254)
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address such as alice@example.com'));

/** Long enough to resist guessing; a zod error names the field, never echoes the value. */
export const NewPassword = z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);
/** A password being checked: any length up to the limit (a wrong one is a 401, not a 400). */
export const GivenPassword = z.string().min(1).max(MAX_PASSWORD_LENGTH);

export const RoleName = z.enum(ROLES as [string, ...string[]]).transform((r) => r as (typeof ROLES)[number]);

export const CreateUserBody = z
  .object({
    email: Email,
    password: NewPassword,
    owner: z.boolean().optional(),
    /** Whether the person must replace this password at first sign-in (default `true`: whoever set it knows it). */
    mustChangePassword: z.boolean().optional(),
  })
  .strict();
export const UpdateUserBody = z
  .object({
    owner: z.boolean().optional(),
    /** A password the owner sets for the person, who must replace it at their next sign-in. */
    password: NewPassword.optional(),
  })
  .strict()
  .refine((b) => b.owner !== undefined || b.password !== undefined, 'give owner, password or both');
export const ChangePasswordBody = z.object({ currentPassword: GivenPassword, newPassword: NewPassword }).strict();
export const AddMemberBody = z.object({ email: Email, role: RoleName }).strict();
export const UpdateMemberBody = z.object({ role: RoleName }).strict();

export const UserView = z.object({
  id: z.uuid(),
  email: z.string(),
  owner: z.boolean(),
  /** When the owner disabled the person; `null` while they may sign in. */
  disabledAt: Timestamp.nullable(),
  /** Until they choose their own password, every call but that change and sign-out answers 403 `PASSWORD_CHANGE_REQUIRED`. */
  mustChangePassword: z.boolean(),
  createdAt: Timestamp,
});

export const MemberView = z.object({
  userId: z.uuid(),
  email: z.string(),
  role: z.enum(ROLES as [string, ...string[]]),
  createdAt: Timestamp,
});
