import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/log.js';
import { contextOf, type McpContext } from '../mcp/context.js';
import { KnowledgeConfig, loadKnowledgeBase } from '../reasoning/rag/kb.js';
import { openClickHouse, type ClickHouseLike } from '../sinks/clickhouse/client.js';
import { startUiServer, type UiServer } from '../ui/server.js';
import { uiRoutes } from '../ui/routes.js';
import type { IncidentOutput } from '../schemas/index.js';
import { payload, replayWorld, type McpWorld } from './helpers/mcp.js';
import { countNear, decodePng } from './helpers/png.js';

/**
 * The incident view in a real browser (Debian's chromium through playwright-core) on a replayed world in chdb: the
 * list, one incident's top-3 with evidence text and a plot, acknowledge and correct-root-cause from the page, and
 * the feedback read back through MCP and from the feedback table itself.
 */
const CHROMIUM = process.env.NIGHTSHIFT_CHROMIUM ?? '/usr/bin/chromium';
const XSS = '<img src=x onerror="window.__pwned=1">';

let world: McpWorld;
let ch: ClickHouseLike;
let ctx: McpContext;
let srv: UiServer;
let browser: Browser;
let page: Page;
let target: IncidentOutput;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set NIGHTSHIFT_CHROMIUM`);
  world = replayWorld('ns-ui-');
  ch = await openClickHouse({ kind: 'chdb', path: world.chdb }, { requestTimeoutMs: 20_000 });
  ctx = contextOf(ch, 'nightshift', loadKnowledgeBase(KnowledgeConfig.parse({})), `chdb at ${world.chdb}`);
  srv = await startUiServer({ ctx, port: 0, log: silentLogger(), routes: uiRoutes(ctx) });
  // The incident with the most causes, and among those one whose evidence holds a series (something to plot).
  const ranked = [...world.latest.values()].filter((o) => o.root_causes.length > 0);
  ranked.sort((a, b) => b.root_causes.length - a.root_causes.length || Number((b.evidence ?? []).some((e) => e.type === 'series')) - Number((a.evidence ?? []).some((e) => e.type === 'series')));
  target = ranked[0]!;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await srv?.close();
  await ch?.close();
  if (world) rmSync(world.dir, { recursive: true, force: true });
});

describe('incident view in chromium', () => {
  it('lists the incidents, filters them, and shows one with its top-3, evidence text and a plot', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(srv.url);
    const rows = page.locator('#incidents tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(world.latest.size);
    const ids = await rows.evaluateAll((trs) => trs.map((t) => (t as HTMLElement).dataset.id));
    expect(ids.sort()).toEqual([...world.latest.keys()].sort());

    // Filter by status: only the resolved ones stay.
    await page.selectOption('#f-status', 'resolved');
    const resolved = [...world.latest.values()].filter((o) => o.status === 'resolved').length;
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(resolved);
    await page.selectOption('#f-status', '');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(world.latest.size);

    await page.click(`#incidents tbody tr[data-id="${target.incident_id}"]`);
    await page.waitForSelector('#detail-title');
    expect(await page.textContent('#detail-title')).toBe(target.title);
    const causes = page.locator('#causes .cause');
    expect(await causes.count()).toBe(target.root_causes.length);
    for (const [i, c] of target.root_causes.entries()) {
      const text = (await causes.nth(i).textContent()) ?? '';
      expect(text).toContain(`#${c.rank} ${c.service}`);
      expect(text).toContain(`${Math.round(c.confidence * 100)}%`);
    }
    // Evidence as text a person reads, not ids: every cited log template's text is on the page.
    const templates = (target.evidence ?? []).filter((e) => e.type === 'log_template');
    expect(templates.length).toBeGreaterThan(0);
    const evidenceText = (await page.locator('#causes .evidence .text').allTextContents()).join('\n');
    for (const t of templates) expect(evidenceText).toContain(t.text);
    expect(evidenceText).not.toMatch(/\btpl_[0-9a-f]{8,}/);

    // A plot of a key series: an SVG with the observed line (or bars) that really drew pixels in its colours.
    const plot = page.locator('#plots svg.series-plot').first();
    await expect.poll(() => plot.count()).toBe(1);
    const shot = decodePng(await plot.screenshot());
    expect(shot.width).toBeGreaterThan(200);
    expect(countNear(shot, [0xc6, 0x28, 0x28])).toBeGreaterThan(30); // observed (red)
    expect(countNear(shot, [0x1f, 0x5f, 0xbf])).toBeGreaterThan(10); // expected (blue)
    // The expected band (the detector's zero-score range) is drawn around the expected line.
    expect(await page.locator('#plots svg.series-plot polygon.band').count()).toBeGreaterThan(0);
    if (process.env.NIGHTSHIFT_UI_SCREENSHOT) writeFileSync(process.env.NIGHTSHIFT_UI_SCREENSHOT, await page.screenshot({ fullPage: true }));

    // Timeline and topology are drawn; the top cause is the highlighted node.
    expect(await page.locator('#timeline svg circle').count()).toBeGreaterThan(0);
    expect(await page.locator(`#topology g.node.root[data-service="${target.root_causes[0]!.service}"]`).count()).toBe(1);
    // The value panel: one row per service that had incidents, from the same store.
    const valueRows = page.locator('#value-table tbody tr');
    await expect.poll(() => valueRows.count(), { timeout: 10_000 }).toBeGreaterThan(0);
    // Each incident counts once, toward the service of its first named cause: the rows add up to every incident.
    const counts = await valueRows.evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLTableRowElement).cells[2]?.textContent ?? 'NaN')));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(world.latest.size);
    const full = decodePng(await page.screenshot({ fullPage: true }));
    expect(full.height).toBeGreaterThan(600);
    expect(errors).toEqual([]);
  });

  it('acknowledges and corrects the root cause from the page; the feedback is in MCP and in the feedback table', async () => {
    const other = target.services.find((s) => s !== target.root_causes[0]!.service)!;
    await page.fill('#fb-note', XSS);
    await page.click('#btn-ack');
    await page.waitForSelector('#feedback li[data-kind="ack"]');
    await page.fill('#fb-service', other);
    await page.selectOption('#fb-kind', 'errors');
    await page.fill('#fb-note', 'it was the other one');
    await page.click('#btn-correct');
    await page.waitForSelector('#feedback li[data-kind="correct_root_cause"]');
    expect(await page.textContent('#feedback')).toContain(`${other} errors`);
    // The note is shown as text, and the markup in it did nothing.
    expect(await page.textContent('#feedback')).toContain(XSS);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    const client = new Client({ name: 'ui-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${srv.url}mcp`)));
    try {
      const r = payload(await client.callTool({ name: 'list_feedback', arguments: { incident_id: target.incident_id } }));
      expect(r.isError, r.text).toBe(false);
      const kinds = (r.data!.feedback as Array<{ kind: string; service: string | null; source: string }>).map((f) => `${f.kind}:${f.service ?? ''}:${f.source}`);
      expect(kinds).toEqual(expect.arrayContaining(['ack::http-api', `correct_root_cause:${other}:http-api`]));
    } finally {
      await client.close();
    }
    const rows = await ch.query<{ kind: string; service: string | null; root_kind: string | null }>(
      `SELECT kind, service, root_kind FROM nightshift.feedback WHERE incident_id = '${target.incident_id}' ORDER BY at`,
    );
    expect(rows.map((r) => [r.kind, r.service, r.root_kind])).toEqual([
      ['ack', null, null],
      ['correct_root_cause', other, 'errors'],
    ]);
  });

  it('serves the page with a content security policy and no third-party origin', async () => {
    const res = await fetch(srv.url);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${srv.url}api/incidents/nope!`)).status).toBe(400);
    expect((await fetch(`${srv.url}api/incidents/inc_missing`)).status).toBe(404);
    expect((await fetch(`${srv.url}api/incidents?status=maybe`)).status).toBe(400);
  });
});
