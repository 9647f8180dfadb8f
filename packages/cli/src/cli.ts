import { createInterface } from 'node:readline/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Client, seg } from './client.js';
import { configPath, connection, writeConfig } from './config.js';
import { ApiError, describeError, EXIT, EXIT_HELP, exitCodeOf, UnreachableError, UsageError } from './errors.js';
import { fields, table } from './table.js';

/** Rollout weights are thousandths of a percent: 100 % is 100,000. */
const FULL = 100_000;

interface Flag {
  key: string;
  name: string;
  type: string;
  tags: string[];
  description: string;
  variants: { key: string; value: unknown }[];
  archived: boolean;
  revision: number;
}

type Serve = { variant: string } | { rollout: { bucketBy?: string; weights: { variant: string; weight: number }[] } };

interface Config {
  environment: string;
  enabled: boolean;
  offVariant: string | null;
  rules: unknown[];
  targets: unknown[];
  defaultServe: Serve;
  version: number;
}

interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  targetKind: string;
  targetKey: string;
  reason: string | null;
  createdAt: string;
}

interface Globals {
  json?: boolean;
  project?: string;
}

const print = (text: string) => process.stdout.write(`${text}\n`);
const printJson = (value: unknown) => print(JSON.stringify(value, null, 2));

function percent(weight: number): string {
  return `${Number(((weight / FULL) * 100).toFixed(3))}%`;
}

function describeServe(serve: Serve): string {
  if ('variant' in serve) return serve.variant;
  return serve.rollout.weights
    .filter((w) => w.weight > 0)
    .map((w) => `${w.variant} ${percent(w.weight)}`)
    .join(' / ');
}

function parsePercent(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 100) {
    throw new InvalidArgumentError('must be a number from 0 to 100');
  }
  if (Math.abs(n * 1000 - Math.round(n * 1000)) > 1e-6) throw new InvalidArgumentError('must be a multiple of 0.001');
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `key=value` as a variant of a flag of `type`: numbers and JSON are parsed, strings taken as they are. */
function parseVariant(spec: string, type: string): { key: string; value: unknown } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UsageError(`--variant ${JSON.stringify(spec)}: expected KEY=VALUE`);
  const key = spec.slice(0, eq);
  const raw = spec.slice(eq + 1);
  if (type === 'string') return { key, value: raw };
  if (type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--variant ${key}: ${raw} is not a number`);
    return { key, value: n };
  }
  try {
    return { key, value: JSON.parse(raw) };
  } catch {
    throw new UsageError(`--variant ${key}: ${raw} is not valid JSON`);
  }
}

async function readTokenFromStdin(): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  if (process.stdin.isTTY) process.stderr.write('API token: ');
  for await (const line of rl) {
    rl.close();
    return line.trim();
  }
  return '';
}

/** What every command but login needs: a client, and the project to act in. */
async function session(cmd: Command): Promise<{ client: Client; project: () => string; globals: Globals }> {
  const globals = cmd.optsWithGlobals<Globals>();
  const conn = await connection();
  const client = new Client(conn.url, conn.token);
  const project = () => {
    const p = globals.project ?? conn.project;
    if (p === undefined) throw new UsageError('no project: pass --project P, or set a default with login --project');
    return p;
  };
  return { client, project, globals };
}

async function environmentsOf(client: Client, project: string): Promise<string[]> {
  const envs = await client.get<{ items: { key: string }[] }>(`/projects/${seg(project)}/environments`);
  return envs.items.map((e) => e.key);
}

async function configsOf(client: Client, project: string, flag: string, envs: string[]): Promise<Config[]> {
  return Promise.all(
    envs.map((e) => client.get<Config>(`/projects/${seg(project)}/flags/${seg(flag)}/environments/${seg(e)}`)),
  );
}

export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description(
      'Switchyard from the command line: flags, kill switches, audit, release plans and experiment results, through the management API (/api/v1).',
    )
    .option('--json', "print the API's JSON instead of tables")
    .option('-p, --project <project>', 'the project to act in (default: the one set at login, or SWITCHYARD_PROJECT)')
    .addHelpText(
      'after',
      `
Configuration: \`switchyard login\` stores the server URL and token in
${configPath()} (mode 0600). SWITCHYARD_URL, SWITCHYARD_TOKEN and
SWITCHYARD_PROJECT override it.

${EXIT_HELP}`,
    )
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('login')
    .summary('check a token against the server and store it')
    .description(
      'Check a token against the server and store it with the URL (and a default project). Personal tokens do not exist yet: today this is an API token (an admin key, as printed by the first `pnpm start` or made with POST /api/v1/keys).',
    )
    .requiredOption('--url <url>', 'the server, e.g. http://127.0.0.1:4242', process.env.SWITCHYARD_URL)
    .option('--token <token>', 'the API token (read from stdin when left out, which keeps it out of shell history)')
    .action(async (opts: { url: string; token?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      const token = opts.token ?? (await readTokenFromStdin());
      if (token === '') throw new UsageError('no token given: pass --token or write it on stdin');
      let url: URL;
      try {
        url = new URL(opts.url);
      } catch {
        throw new UsageError(`--url ${JSON.stringify(opts.url)} is not a URL`);
      }
      const client = new Client(url.href, token);
      // A token that may list projects, or read the default project, is one the server accepts.
      if (globals.project !== undefined) await client.get(`/projects/${seg(globals.project)}`);
      else await client.get('/projects');
      const base = url.href.replace(/\/+$/, '');
      const path = configPath();
      await writeConfig(
        { url: base, token, ...(globals.project === undefined ? {} : { project: globals.project }) },
        path,
      );
      if (globals.json) printJson({ url: base, project: globals.project ?? null, config: path });
      else print(`logged in to ${base}${globals.project ? ` (project ${globals.project})` : ''}; saved in ${path}`);
    });

  const flags = program.command('flags').description('list, read, create, roll out and kill flags');

  flags
    .command('list')
    .description("the project's flags with their on/off state in each environment")
    .option('--tag <tag>', 'only flags with this tag')
    .option('--env <env>', 'only this environment')
    .action(async (opts: { tag?: string; env?: string }, cmd: Command) => {
      const { client, project, globals } = await session(cmd);
      const p = project();
      const list = await client.get<{ items: Flag[] }>(`/projects/${seg(p)}/flags`, { tag: opts.tag });
      const envs = opts.env === undefined ? await environmentsOf(client, p) : [opts.env];
      const withConfigs = await Promise.all(
        list.items.map(async (f) => ({ flag: f, configs: await configsOf(client, p, f.key, envs) })),
      );
      if (globals.json) {
        printJson({
          items: withConfigs.map(({ flag, configs }) => ({
            ...flag,
            environments: Object.fromEntries(configs.map((c) => [c.environment, c])),
          })),
        });
        return;
      }
      if (withConfigs.length === 0) {
        print(opts.tag === undefined ? `no flags in project ${p}` : `no flags tagged ${opts.tag} in project ${p}`);
        return;
      }
      print(
        table(
          ['KEY', 'NAME', 'TAGS', ...envs.map((e) => e.toUpperCase())],
          withConfigs.map(({ flag, configs }) => [
            flag.key,
            flag.name,
            flag.tags.join(',') || '-',
            ...configs.map((c) => (c.enabled ? 'on' : 'off')),
          ]),
        ),
      );
    });

  flags
    .command('get <key>')
    .description('one flag: its variants and its configuration in each environment')
    .option('--env <env>', 'only this environment')
    .action(async (key: string, opts: { env?: string }, cmd: Command) => {
      const { client, project, globals } = await session(cmd);
      const p = project();
      const flag = await client.get<Flag>(`/projects/${seg(p)}/flags/${seg(key)}`);
      const envs = opts.env === undefined ? await environmentsOf(client, p) : [opts.env];
      const configs = await configsOf(client, p, key, envs);
      if (globals.json) {
        printJson({ ...flag, environments: Object.fromEntries(configs.map((c) => [c.environment, c])) });
        return;
      }
      print(
        fields([
          ['key', flag.key],
          ['name', flag.name],
          ['type', flag.type],
          ['tags', flag.tags.join(', ') || '-'],
          ['variants', flag.variants.map((v) => `${v.key}=${JSON.stringify(v.value)}`).join('  ')],
          ...(flag.description ? [['description', flag.description] as [string, string]] : []),
          ...(flag.archived ? [['archived', 'yes'] as [string, string]] : []),
        ]),
      );
      print('');
      print(
        table(
          ['ENVIRONMENT', 'STATE', 'DEFAULT SERVE', 'OFF VARIANT', 'TARGETS', 'RULES', 'VERSION'],
          configs.map((c) => [
            c.environment,
            c.enabled ? 'on' : 'off',
            describeServe(c.defaultServe),
            c.offVariant ?? '-',
            String(c.targets.length),
            String(c.rules.length),
            String(c.version),
          ]),
        ),
      );
    });

  flags
    .command('create <key>')
    .description('create a flag, off in every environment')
    .requiredOption('--name <name>', 'a name for people')
    .addOption(
      new Option('--type <type>', 'the type of its values')
        .choices(['boolean', 'string', 'number', 'json'])
        .default('boolean'),
    )
    .option(
      '--variant <key=value>',
      'a variant (repeat for each; not for booleans, which have on and off); JSON values for json flags',
      collect,
    )
    .option('--variants <key=value...>', 'several variants at once')
    .option('--tag <tag>', 'a tag (repeat for several)', collect)
    .option('--description <text>', 'what the flag is for')
    .option('--client-side', 'served to browsers (client SDK keys) too')
    .action(
      async (
        key: string,
        opts: {
          name: string;
          type: string;
          variant?: string[];
          variants?: string[];
          tag?: string[];
          description?: string;
          clientSide?: boolean;
        },
        cmd: Command,
      ) => {
        const { client, project, globals } = await session(cmd);
        const specs = [...(opts.variant ?? []), ...(opts.variants ?? [])];
        const body = {
          key,
          name: opts.name,
          type: opts.type,
          ...(specs.length > 0 ? { variants: specs.map((s) => parseVariant(s, opts.type)) } : {}),
          ...(opts.tag ? { tags: opts.tag } : {}),
          ...(opts.description === undefined ? {} : { description: opts.description }),
          ...(opts.clientSide ? { clientSide: true } : {}),
        };
        const flag = await client.post<Flag>(`/projects/${seg(project())}/flags`, body);
        if (globals.json) printJson(flag);
        else
          print(
            `created ${flag.type} flag ${flag.key} (variants ${flag.variants.map((v) => v.key).join(', ')}), off everywhere`,
          );
      },
    );

  flags
    .command('rollout <key>')
    .description(
      'serve a variant to N % of units by default (rules and targets stay as they are) and turn the flag on;\n' +
        'the rest get the off variant (or "off", or the first other variant). Weights are thousandths of a percent.',
    )
    .requiredOption('--env <env>', 'the environment')
    .requiredOption('--percent <n>', 'from 0 to 100, to 0.001', parsePercent)
    .option('--variant <variant>', 'the variant rolled out (default: "on", else the first variant)')
    .option('--no-enable', 'change the rollout only, leaving the flag off if it is off')
    .option('--reason <reason>', 'why, for the audit log')
    .action(
      async (
        key: string,
        opts: { env: string; percent: number; variant?: string; enable: boolean; reason?: string },
        cmd: Command,
      ) => {
        const { client, project, globals } = await session(cmd);
        const p = project();
        const path = `/projects/${seg(p)}/flags/${seg(key)}/environments/${seg(opts.env)}`;
        const flag = await client.get<Flag>(`/projects/${seg(p)}/flags/${seg(key)}`);
        const config = await client.get<Config>(path);
        const keys = flag.variants.map((v) => v.key);
        const variant = opts.variant ?? (keys.includes('on') ? 'on' : keys[0]);
        if (variant === undefined || !keys.includes(variant)) {
          throw new UsageError(`flag ${key} has no variant ${JSON.stringify(variant)} (it has ${keys.join(', ')})`);
        }
        const rest =
          (config.offVariant !== null && config.offVariant !== variant ? config.offVariant : undefined) ??
          (variant !== 'off' && keys.includes('off') ? 'off' : keys.find((k) => k !== variant));
        const weight = Math.round(opts.percent * 1000);
        const bucketBy = 'rollout' in config.defaultServe ? config.defaultServe.rollout.bucketBy : undefined;
        const weights = [{ variant, weight }];
        if (rest !== undefined) weights.push({ variant: rest, weight: FULL - weight });
        else if (weight !== FULL)
          throw new UsageError(`flag ${key} has a single variant: only --percent 100 serves it`);
        const body = {
          defaultServe: { rollout: { ...(bucketBy === undefined ? {} : { bucketBy }), weights } },
          ...(opts.enable ? { enabled: true } : {}),
          ...(opts.reason === undefined ? {} : { reason: opts.reason }),
        };
        // Guarded by the version read, so a change made meanwhile is refused (exit 4), not overwritten.
        const updated = await client.patch<Config>(path, body, config.version);
        if (globals.json) printJson(updated);
        else
          print(
            `${key} in ${opts.env}: ${describeServe(updated.defaultServe)}, ${updated.enabled ? 'on' : 'off'} (version ${updated.version})`,
          );
      },
    );

  for (const [name, action, what] of [
    ['kill', 'kill', 'turn the flag off in an environment: everyone gets its off variant'],
    ['revive', 'unkill', 'turn a killed flag back on, with its rules and rollout as they were'],
  ] as const) {
    flags
      .command(`${name} <key>`)
      .description(what)
      .requiredOption('--env <env>', 'the environment')
      .requiredOption('--reason <reason>', 'why, for the audit log')
      .action(async (key: string, opts: { env: string; reason: string }, cmd: Command) => {
        const { client, project, globals } = await session(cmd);
        const path = `/projects/${seg(project())}/flags/${seg(key)}/environments/${seg(opts.env)}/${action}`;
        const res = await client.post<Config & { changed: boolean }>(path, { reason: opts.reason });
        if (globals.json) printJson(res);
        else if (!res.changed)
          print(`${key} in ${opts.env} was already ${name === 'kill' ? 'off' : 'on'}; nothing changed`);
        else print(`${name === 'kill' ? 'killed' : 'revived'} ${key} in ${opts.env} (version ${res.version})`);
      });
  }

  program
    .command('kill')
    .description('kill every flag with a tag in an environment, in one change')
    .requiredOption('--tag <tag>', 'the tag')
    .requiredOption('--env <env>', 'the environment')
    .requiredOption('--reason <reason>', 'why, for the audit log')
    .action(async (opts: { tag: string; env: string; reason: string }, cmd: Command) => {
      const { client, project, globals } = await session(cmd);
      const res = await client.post<{ killed: string[] }>(
        `/projects/${seg(project())}/environments/${seg(opts.env)}/kill`,
        {
          tag: opts.tag,
          reason: opts.reason,
        },
      );
      if (globals.json) printJson(res);
      else if (res.killed.length === 0) print(`no flag tagged ${opts.tag} was on in ${opts.env}; nothing changed`);
      else print(`killed in ${opts.env}: ${res.killed.join(', ')}`);
    });

  const audit = program.command('audit').description('the audit log');
  audit
    .command('tail')
    .description('the newest audit entries, oldest first; --follow prints new ones as they come until Ctrl-C')
    .option('-n, --limit <n>', 'how many entries', parsePositive, 20)
    .option('-f, --follow', "keep printing new entries: the project's change stream, else polling")
    .option(
      '--interval <ms>',
      'how often --follow polls (without a project), or waits to reconnect',
      parsePositive,
      1000,
    )
    .action(async (opts: { limit: number; follow?: boolean; interval: number }, cmd: Command) => {
      const { client, globals } = await session(cmd);
      const conn = await connection();
      const project = globals.project ?? conn.project;
      const page = (limit: number, cursor?: string) =>
        client.get<{ items: AuditEntry[]; nextCursor: string | null }>('/audit', { project, limit, cursor });
      const show = (entries: AuditEntry[]) => {
        if (globals.json) {
          for (const e of entries) print(JSON.stringify(e));
          return;
        }
        const rows = entries.map((e) => [
          e.createdAt,
          String(e.id),
          e.actor,
          e.action,
          `${e.targetKind} ${e.targetKey}`,
          e.reason ?? '',
        ]);
        if (rows.length > 0) print(table(['TIME', 'ID', 'ACTOR', 'ACTION', 'TARGET', 'REASON'], rows));
      };
      const first = await page(opts.limit);
      const initial = [...first.items].reverse();
      if (globals.json && !opts.follow) printJson(first);
      else show(initial);
      if (!opts.follow) return;
      const last = first.items[0]?.id ?? 0;
      if (project !== undefined) await followStream(client, project, last, opts.interval, show);
      else await followByPolling(page, last, opts.interval, show);
    });

  program
    .command('results <flag>')
    .description("an experiment's results: each variant's units and mean, and each against the control")
    .requiredOption('--env <env>', 'the environment')
    .requiredOption('--metric <metric>', 'the metric')
    .option('--control <variant>', 'the variant compared against (default: the off variant, else the first)')
    .action(async (flag: string, opts: { env: string; metric: string; control?: string }, cmd: Command) => {
      const { client, project, globals } = await session(cmd);
      const r = await client.get<Results>(
        `/projects/${seg(project())}/flags/${seg(flag)}/environments/${seg(opts.env)}/results`,
        { metric: opts.metric, control: opts.control },
      );
      if (globals.json) printJson(r);
      else print(renderResults(r));
    });

  const plans = program.command('plans').description("a flag's release plan in an environment");
  for (const [name, what] of [
    ['status', 'the plan: its state, stages, guards and history'],
    ['start', 'start the plan at its first stage'],
    ['pause', 'hold the plan at its current stage'],
    ['abort', 'stop the plan and put the rollout back'],
  ] as const) {
    plans
      .command(`${name} <flag>`)
      .description(what)
      .requiredOption('--env <env>', 'the environment')
      .option('--reason <reason>', 'why, for the audit log')
      .action(async (flag: string, opts: { env: string; reason?: string }, cmd: Command) => {
        const { client, project, globals } = await session(cmd);
        const path = `/projects/${seg(project())}/flags/${seg(flag)}/environments/${seg(opts.env)}/release-plan`;
        const plan =
          name === 'status'
            ? await client.get<Plan>(path)
            : await client.post<Plan>(`${path}/${name}`, opts.reason === undefined ? {} : { reason: opts.reason });
        if (globals.json) printJson(plan);
        else print(renderPlan(plan));
      });
  }

  return program;
}

interface Interval {
  estimate: number | null;
  ci95: [number, number] | null;
}

interface Results {
  flag: string;
  environment: string;
  metric: { key: string; kind: string; direction: string };
  control: string;
  status: string;
  minUnitsPerVariant: number;
  srm: { pValue: number | null; mismatch: boolean };
  variants: { variant: string; units: number; conversions?: number; mean: number | null }[];
  comparisons: {
    variant: string;
    absolute: Interval;
    relative: Interval;
    pValue: number | null;
    sequential: { ci95: [number, number] | null; significant: boolean };
    caveat: string | null;
  }[];
}

const num = (n: number | null | undefined, digits = 4) =>
  n === null || n === undefined ? '-' : String(Number(n.toPrecision(digits)));
const pct = (n: number | null | undefined) =>
  n === null || n === undefined ? '-' : `${Number((n * 100).toFixed(2))}%`;
const range = (ci: [number, number] | null, f: (n: number) => string) =>
  ci === null ? '-' : `[${f(ci[0])}, ${f(ci[1])}]`;

function renderResults(r: Results): string {
  const lines = [
    `${r.flag} in ${r.environment}, metric ${r.metric.key} (${r.metric.kind}, ${r.metric.direction} is better), control ${r.control}`,
    `status: ${r.status}${r.status === 'ready' ? '' : ` (needs ${r.minUnitsPerVariant} units per variant)`}`,
  ];
  if (r.srm.mismatch)
    lines.push(`WARNING: sample ratio mismatch (p = ${num(r.srm.pValue, 3)}): the split is not the one configured`);
  lines.push('');
  lines.push(
    table(
      ['VARIANT', 'UNITS', 'CONVERSIONS', 'MEAN'],
      r.variants.map((v) => [
        v.variant,
        String(v.units),
        v.conversions === undefined ? '-' : String(v.conversions),
        num(v.mean),
      ]),
    ),
  );
  if (r.comparisons.length > 0) {
    lines.push('');
    lines.push(
      table(
        ['VARIANT', 'VS', 'DIFFERENCE', '95% CI', 'UPLIFT', '95% CI', 'P', 'SEQUENTIAL 95% CI', 'NOTE'],
        r.comparisons.map((c) => [
          c.variant,
          r.control,
          num(c.absolute.estimate),
          range(c.absolute.ci95, (n) => num(n)),
          pct(c.relative.estimate),
          range(c.relative.ci95, pct),
          num(c.pValue, 3),
          `${range(c.sequential.ci95, pct)}${c.sequential.significant ? ' significant' : ''}`,
          c.caveat ?? '',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

interface Plan {
  flag: string;
  environment: string;
  variant: string;
  control: string;
  state: string;
  stage: { number: number; percent: number } | null;
  stages: { percent: number; holdSeconds: number; minUnits: number }[];
  guards: Record<string, unknown>[];
  onBreach: string;
  stageStartedAt: string | null;
  history?: { at: string; actor: string; action: string; state: string; stage: number | null; reason: string | null }[];
}

function renderPlan(plan: Plan): string {
  const lines = [
    fields([
      ['flag', `${plan.flag} in ${plan.environment}`],
      ['releases', `${plan.variant} (the rest get ${plan.control})`],
      ['state', plan.state],
      ['stage', plan.stage === null ? '-' : `${plan.stage.number} of ${plan.stages.length}: ${plan.stage.percent}%`],
      ['guards', plan.guards.map((g) => JSON.stringify(g)).join(', ') || '-'],
      ['on breach', plan.onBreach],
    ]),
    '',
    table(
      ['STAGE', 'PERCENT', 'HOLD', 'MIN UNITS'],
      plan.stages.map((s, i) => [
        `${plan.stage?.number === i + 1 ? '>' : ' '} ${i + 1}`,
        `${s.percent}%`,
        `${s.holdSeconds}s`,
        String(s.minUnits),
      ]),
    ),
  ];
  if (plan.history !== undefined && plan.history.length > 0) {
    lines.push('');
    lines.push(
      table(
        ['AT', 'ACTOR', 'ACTION', 'STATE', 'STAGE', 'REASON'],
        plan.history.map((h) => [
          h.at,
          h.actor,
          h.action,
          h.state,
          h.stage === null ? '-' : String(h.stage),
          h.reason ?? '',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/** Runs the CLI; resolves to the exit code instead of exiting, so that output is flushed first. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });
  for (const cmd of allCommands(program)) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version asked for end with 0; everything else commander refuses is a usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    process.stderr.write(`${describeError(err)}\n`);
    return exitCodeOf(err);
  }
}

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap((c) => allCommands(c))];
}

/**
 * Prints a project's entries after `last` as the server's change stream brings them, for as
 * long as the command runs; reconnects from the last entry printed when the stream breaks (a
 * restarted or unreachable server), and stops on a refusal (a revoked token, a lost role).
 */
async function followStream(
  client: Client,
  project: string,
  last: number,
  retryMs: number,
  show: (entries: AuditEntry[]) => void,
): Promise<never> {
  let lastEventId = String(last);
  for (;;) {
    try {
      lastEventId = await client.stream(`/projects/${seg(project)}/changes`, lastEventId, (events) =>
        show(events.filter((e) => e.event === 'change').map((e) => JSON.parse(e.data) as AuditEntry)),
      );
    } catch (err) {
      if (!(err instanceof UnreachableError) && !(err instanceof ApiError && err.status >= 500)) throw err;
    }
    await sleep(retryMs);
  }
}

/** Without a project there is no stream: polls the audit log, walking back from its head to the last entry printed. */
async function followByPolling(
  page: (limit: number, cursor?: string) => Promise<{ items: AuditEntry[]; nextCursor: string | null }>,
  last: number,
  intervalMs: number,
  show: (entries: AuditEntry[]) => void,
): Promise<never> {
  for (;;) {
    await sleep(intervalMs);
    const fresh: AuditEntry[] = [];
    let cursor: string | undefined;
    for (;;) {
      const p = await page(100, cursor);
      const newer = p.items.filter((e) => e.id > last);
      fresh.push(...newer);
      if (newer.length < p.items.length || p.nextCursor === null) break;
      cursor = p.nextCursor;
    }
    if (fresh.length === 0) continue;
    last = fresh[0]?.id ?? last;
    show(fresh.reverse());
  }
}
