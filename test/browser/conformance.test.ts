import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clientView, compile, type FlagType, type Ruleset } from '@switchyard/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Built, buildIife, type Chromium, launchChromium } from './support/chromium.js';
import { html, PageServer } from './support/page-server.js';

interface VectorSuite {
  name: string;
  ruleset: Ruleset;
  cases: { name: string; flag: string; context: unknown; default: unknown; type?: FlagType }[];
}

const dir = fileURLToPath(new URL('../vectors/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f !== 'murmur3_x86_32.json')
  .sort();

/**
 * Every case of a vector file evaluated in Node by the core, as JSON text per case. The text is
 * what is compared, so "equal" means equal to the byte: values, variants, reasons, error codes
 * and messages, rule ids and flag metadata.
 */
function inNode(text: string): string[] {
  const suites = JSON.parse(text) as VectorSuite[];
  return suites.flatMap((suite) => {
    const evaluator = compile(suite.ruleset);
    return suite.cases.map((c) =>
      JSON.stringify(evaluator.evaluate(c.flag, c.context as Record<string, never>, c.default, c.type)),
    );
  });
}

/**
 * The same in the page, through the bundled SDK: one offline client per suite, bootstrapped
 * with its ruleset as the server would send it to a browser (its client view, made in Node),
 * `identify` with each case's context, then `getDetail`. The file goes in as text and is parsed
 * in the page, so hostile keys such as `__proto__` arrive as they are written.
 */
const IN_PAGE = `(text) => JSON.parse(text).flatMap((suite) => {
  const client = Switchyard.createClient({ clientKey: '', baseUrl: '', offline: true, bootstrap: suite.ruleset });
  return suite.cases.map((c) => {
    client.identify(c.context);
    return JSON.stringify(client.getDetail(c.flag, c.default, c.type));
  });
})`;

let chrome: Chromium;
let bundle: Built;
let pages: PageServer;
let page: Page;

beforeAll(async () => {
  bundle = await buildIife();
  pages = await PageServer.start({
    '/': html('<script src="/switchyard.iife.js"></script>'),
    '/switchyard.iife.js': { type: 'text/javascript; charset=utf-8', body: { file: bundle.file } },
  });
  chrome = await launchChromium();
  page = await chrome.context.newPage();
  await page.goto(pages.url);
});

afterAll(async () => {
  await chrome?.close();
  await bundle?.remove();
  await pages?.close();
});

describe('the conformance vectors evaluated in Chromium by the bundled SDK', () => {
  it.each(files)('%s gives the answers the core gives in Node, exactly', async (file) => {
    const text = readFileSync(`${dir}${file}`, 'utf8');
    const expected = inNode(text);
    const viewed = JSON.stringify(
      (JSON.parse(text) as VectorSuite[]).map((suite) => ({ ...suite, ruleset: clientView(suite.ruleset) })),
    );
    const actual = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify(viewed)})`)) as string[];
    expect(actual.length).toBe(expected.length);
    expect(expected.length).toBeGreaterThan(0);
    const names = (JSON.parse(text) as VectorSuite[]).flatMap((s) => s.cases.map((c) => `${s.name} / ${c.name}`));
    const differing = names.flatMap((name, i) =>
      actual[i] === expected[i] ? [] : [{ name, node: expected[i], chromium: actual[i] }],
    );
    expect(differing).toEqual([]);
  });
});
