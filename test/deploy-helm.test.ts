import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../pipeline/config.js';
import { kafkaConfig, type KafkaConfig } from '../pipeline/kafka/config.js';
import { METRIC } from '../core/metrics.js';
import { opsHostFromEnv, opsPortFromEnv } from '../core/ops.js';
import { readTokens } from '../core/auth/index.js';
import { hostFrom, rateLimitFrom, tlsFrom } from '../cli/listen.js';
import { gatewayHostFromEnv } from '../ingest/gateway/index.js';

/**
 * The Helm chart in deploy/helm/nightshift, rendered by the real `helm template` and checked by kubeconform against
 * the Kubernetes JSON schemas (strict: unknown fields fail), plus the ServiceMonitor and ScaledObject against their
 * CRD schemas. The tools come from scripts/deploy-tools.sh (CI runs it first); missing tools FAIL this file.
 */
const ROOT = join(import.meta.dirname, '..');
const CHART = join(ROOT, 'deploy', 'helm', 'nightshift');
const STAGES = ['ingest', 'perception', 'reasoning', 'sinks'] as const;

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};
interface Container {
  name: string;
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string }>;
  envFrom?: Array<{ secretRef?: { name: string } }>;
  ports: Array<{ name: string; containerPort: number }>;
  livenessProbe: { httpGet: { path: string; port: string; scheme?: string; httpHeaders?: unknown[] } };
  readinessProbe: { httpGet: { path: string; port: string; scheme?: string; httpHeaders?: unknown[] } };
  startupProbe: { httpGet: { path: string; port: string; scheme?: string; httpHeaders?: unknown[] } };
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
}

interface Tools {
  helm: string;
  kubeconform: string;
  schemaRoot: string;
  k8sVersion: string;
  npmDir: string;
}

function tools(): Tools {
  const out = execFileSync('bash', [join(ROOT, 'scripts', 'deploy-tools.sh'), '--print'], { encoding: 'utf8', timeout: 10_000 });
  const kv = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=', 2) as [string, string]));
  const t: Tools = {
    helm: join(kv.bin!, 'helm'),
    kubeconform: join(kv.bin!, 'kubeconform'),
    schemaRoot: kv.schema_root!,
    k8sVersion: kv.k8s_version!,
    npmDir: kv.npm_dir!,
  };
  const missing = [t.helm, t.kubeconform, join(t.schemaRoot, `v${t.k8sVersion}-standalone-strict`, 'deployment-apps-v1.json'), join(t.npmDir, 'node_modules', '@kubernetes-models', 'keda')].filter(
    (p) => !existsSync(p),
  );
  if (missing.length > 0) throw new Error(`deploy tools missing (${missing.join(', ')}): run scripts/deploy-tools.sh first`);
  return t;
}

let T: Tools;
let work = '';

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(T.helm, args, { encoding: 'utf8', timeout: 60_000, cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function render(valuesFiles: string[], sets: string[] = []): { yaml: string; docs: Manifest[] } {
  const args = ['template', 'nightshift', CHART, '--namespace', 'observability', '--kube-version', T.k8sVersion];
  for (const f of valuesFiles) args.push('-f', f);
  for (const s of sets) args.push('--set', s);
  const r = helm(args);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
  return { yaml: r.stdout, docs };
}

interface KubeconformSummary {
  valid: number;
  invalid: number;
  errors: number;
  skipped: number;
}

/** kubeconform, strict, on the local schemas; the CRD kinds are skipped here and validated by crdValidators. */
function kubeconform(yaml: string): { summary: KubeconformSummary; messages: string[] } {
  const file = join(work, `render-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const location = `${T.schemaRoot}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
  const r = spawnSync(
    T.kubeconform,
    ['-strict', '-summary', '-output', 'json', '-kubernetes-version', T.k8sVersion, '-schema-location', location, '-skip', Object.keys(crdValidators).join(','), file],
    { encoding: 'utf8', timeout: 60_000 },
  );
  const out = JSON.parse(r.stdout) as { resources?: Array<{ kind: string; name: string; status: string; msg: string }>; summary: KubeconformSummary };
  const messages = (out.resources ?? []).filter((x) => x.status !== 'statusValid' && x.status !== 'statusSkipped').map((x) => `${x.kind} ${x.name}: ${x.msg}`);
  return { summary: out.summary, messages };
}

type Validator = (m: Manifest) => void;
const crdValidators: Record<string, Validator> = {};

async function loadCrdValidators(): Promise<void> {
  // Generated from the CRDs' OpenAPI schemas (npm @kubernetes-models/*), installed by deploy-tools.sh outside the repo.
  const mod = async (p: string): Promise<Record<string, new (m: unknown) => { validate(): void }>> =>
    (await import(pathToFileURL(join(T.npmDir, 'node_modules', '@kubernetes-models', p)).href)) as Record<string, new (m: unknown) => { validate(): void }>;
  const sm = await mod('prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor.js');
  const pr = await mod('prometheus-operator/monitoring.coreos.com/v1/PrometheusRule.js');
  const so = await mod('keda/keda.sh/v1alpha1/ScaledObject.js');
  const ta = await mod('keda/keda.sh/v1alpha1/TriggerAuthentication.js');
  crdValidators.ServiceMonitor = (m) => new sm.ServiceMonitor!(m).validate();
  crdValidators.PrometheusRule = (m) => new pr.PrometheusRule!(m).validate();
  crdValidators.ScaledObject = (m) => new so.ScaledObject!(m).validate();
  crdValidators.TriggerAuthentication = (m) => new ta.TriggerAuthentication!(m).validate();
}

const byKind = (docs: Manifest[], kind: string): Manifest[] => docs.filter((d) => d.kind === kind);
const component = (m: Manifest): string => m.metadata.labels?.['app.kubernetes.io/component'] ?? '';
const containerOf = (d: Manifest): Container => (d.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers[0]!;
const envNames = (c: Container): string[] => (c.env ?? []).map((e) => e.name);
const envOf = (c: Container): Record<string, string> => Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
type Volume = { name: string; secret?: { secretName: string; defaultMode?: number } };
const volumesOf = (d: Manifest): Volume[] => (d.spec as { template: { spec: { volumes: Volume[] } } }).template.spec.volumes;
/** The Secret mounted (as a whole directory) at the folder holding `path`, or null. */
function secretAt(d: Manifest, path: string): string | null {
  const c = containerOf(d);
  const m = (c.volumeMounts ?? []).find((v) => path === v.mountPath || path.startsWith(`${v.mountPath}/`));
  if (!m) return null;
  // subPath mounts never see Secret updates, which would defeat rotation without restart.
  expect(m.subPath, `${component(d)} ${m.mountPath}`).toBeUndefined();
  expect(m.readOnly).toBe(true);
  return volumesOf(d).find((v) => v.name === m.name)?.secret?.secretName ?? null;
}

beforeAll(async () => {
  T = tools();
  work = mkdtempSync(join(tmpdir(), 'ns-helm-'));
  await loadCrdValidators();
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const VALUES = {
  default: [] as string[],
  full: [join(CHART, 'ci', 'full-values.yaml')],
  allInOne: [join(CHART, 'ci', 'allinone-values.yaml')],
};

describe('helm chart: lint and schema validation', () => {
  it.each(Object.entries(VALUES))('%s values: helm lint --strict passes', (_name, files) => {
    const r = helm(['lint', '--strict', CHART, '--kube-version', T.k8sVersion, ...files.flatMap((f) => ['-f', f])]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it.each(Object.entries(VALUES))('%s values: every manifest passes kubeconform -strict against the Kubernetes schemas', (_name, files) => {
    const { yaml, docs } = render(files);
    const crds = docs.filter((d) => d.kind in crdValidators).length;
    const { summary, messages } = kubeconform(yaml);
    expect(messages).toEqual([]);
    expect(summary.invalid + summary.errors).toBe(0);
    expect(summary.valid).toBe(docs.length - crds);
    expect(summary.skipped).toBe(crds);
  });

  it.each(Object.entries(VALUES))('%s values: ServiceMonitor, PrometheusRule and ScaledObject pass their CRD schemas', (_name, files) => {
    const { docs } = render(files);
    for (const d of docs.filter((x) => x.kind in crdValidators)) expect(() => crdValidators[d.kind]!(d), `${d.kind} ${d.metadata.name}`).not.toThrow();
  });

  it('the validators are live: a bogus field, a wrong type and a bad CRD trigger are all rejected', () => {
    const { yaml, docs } = render(VALUES.default);
    const bogus = yaml.replace('revisionHistoryLimit: 5', 'revisionHistoryLimit: 5\n  replicaCount: 3');
    expect(kubeconform(bogus).summary.invalid).toBeGreaterThan(0);
    const wrongType = yaml.replace(/containerPort: 9464/g, 'containerPort: "ops"');
    expect(kubeconform(wrongType).messages.join('\n')).toMatch(/containerPort/);
    const so = render(VALUES.full).docs.find((d) => d.kind === 'ScaledObject')!;
    const bad = structuredClone(so);
    (bad.spec as { triggers: Array<Record<string, unknown>> }).triggers[0] = { metadata: {} };
    expect(() => crdValidators.ScaledObject!(bad)).toThrow(/type/);
    expect(docs.length).toBeGreaterThan(0);
  });
});

describe('helm chart: what it renders', () => {
  it('default: one Deployment per stage plus the gateway, each with probes, resources, PDB, HPA and an ops Service', () => {
    const { docs } = render(VALUES.default);
    const deployments = byKind(docs, 'Deployment');
    expect(deployments.map(component).sort()).toEqual([...STAGES, 'gateway'].sort());
    for (const d of deployments) {
      const c = containerOf(d);
      const name = component(d);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
      expect(c.ports.find((p) => p.name === 'ops')?.containerPort).toBe(9464);
      expect(c.resources.requests?.cpu && c.resources.requests.memory && c.resources.limits?.memory, name).toBeTruthy();
      expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(c.args).toEqual(name === 'gateway' ? ['gateway', '--config', '/etc/nightshift/config.yaml'] : ['run', '--stage', name, '--config', '/etc/nightshift/config.yaml']);
      expect(c.env?.find((e) => e.name === 'NIGHTSHIFT_KAFKA_BROKERS')?.value).toBe('kafka:9092');
      expect(c.env?.find((e) => e.name === 'NIGHTSHIFT_OPS_PORT')?.value).toBe('9464');
      // The partition counts nightshift creates its topics with are the ones the chart's checks assume.
      expect(Object.fromEntries((c.env ?? []).filter((e) => e.name.startsWith('NIGHTSHIFT_KAFKA_PARTITIONS_')).map((e) => [e.name, e.value]))).toEqual({
        NIGHTSHIFT_KAFKA_PARTITIONS_RAW: '6',
        NIGHTSHIFT_KAFKA_PARTITIONS_EVENTS: '12',
        NIGHTSHIFT_KAFKA_PARTITIONS_BUNDLES: '6',
        NIGHTSHIFT_KAFKA_PARTITIONS_RCA: '6',
      });
      expect(c.env?.find((e) => e.name === 'NIGHTSHIFT_KAFKA_GROUP_PREFIX')?.value).toBe('nightshift');
      // An HPA owns the replica count: a rendered `replicas` would reset it on every upgrade.
      expect((d.spec as { replicas?: number }).replicas).toBeUndefined();
    }
    for (const kind of ['PodDisruptionBudget', 'HorizontalPodAutoscaler', 'Service']) {
      expect(byKind(docs, kind).map(component).sort(), kind).toEqual([...STAGES, 'gateway'].sort());
    }
    expect(byKind(docs, 'ServiceMonitor')).toEqual([]);
    expect(byKind(docs, 'ScaledObject')).toEqual([]);
    expect(byKind(docs, 'Secret')).toEqual([]);
    // Without ClickHouse the sinks stage must not fall back to a local chdb store on a read-only root.
    expect(containerOf(deployments.find((d) => component(d) === 'sinks')!).env?.find((e) => e.name === 'NIGHTSHIFT_ANALYTICS')?.value).toBe('off');
  });

  it.each(Object.entries(VALUES))('%s values: the pipeline\'s own parsers accept each container\'s Kafka and ops environment', (_name, files) => {
    const { docs } = render(files);
    for (const d of byKind(docs, 'Deployment')) {
      const c = containerOf(d);
      const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      const k = kafkaConfig({}, env);
      expect(k.brokers.join(','), component(d)).toBe(env.NIGHTSHIFT_KAFKA_BROKERS);
      expect(k.groupPrefix).toBe(env.NIGHTSHIFT_KAFKA_GROUP_PREFIX);
      expect(k.partitions.events).toBe(Number(env.NIGHTSHIFT_KAFKA_PARTITIONS_EVENTS));
      expect(opsPortFromEnv(env)).toBe(c.ports.find((p) => p.name === 'ops')!.containerPort);
      // KEDA watches <groupPrefix>-<stage>, the groups the pipeline joins.
      for (const so of byKind(docs, 'ScaledObject').filter((x) => component(x) === component(d))) {
        const groups = (so.spec as { triggers: Array<{ metadata: { consumerGroup: string } }> }).triggers.map((t) => t.metadata.consumerGroup);
        for (const g of groups) expect(g.startsWith(`${k.groupPrefix}-`), g).toBe(true);
      }
    }
  });

  it('full: KEDA ScaledObjects on consumer lag replace the consumers\' HPAs; the gateway keeps its HPA; a ServiceMonitor scrapes ops', () => {
    const { docs } = render(VALUES.full);
    const sos = byKind(docs, 'ScaledObject');
    expect(sos.map(component).sort()).toEqual([...STAGES].sort());
    for (const so of sos) {
      const spec = so.spec as { scaleTargetRef: { name: string }; maxReplicaCount: number; triggers: Array<{ type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }> };
      expect(spec.scaleTargetRef.name).toBe(so.metadata.name);
      // Never more replicas than the partitions the stage reads (full values: raw 12, events 24, bundles 6, rca 6).
      expect(spec.maxReplicaCount).toBe({ ingest: 6, perception: 24, reasoning: 4, sinks: 4 }[component(so)]);
      expect(spec.triggers).toHaveLength(1);
      expect(spec.triggers[0]!.type).toBe('kafka');
      expect(spec.triggers[0]!.metadata.consumerGroup).toBe(`nightshift-prod-${component(so)}`);
      expect(spec.triggers[0]!.authenticationRef?.name).toBe('kafka-sasl-auth');
    }
    expect(byKind(docs, 'HorizontalPodAutoscaler').map(component)).toEqual(['gateway']);
    const sm = byKind(docs, 'ServiceMonitor');
    expect(sm).toHaveLength(1);
    expect(sm[0]!.metadata.labels?.release).toBe('kube-prometheus-stack');
    const smSpec = sm[0]!.spec as { endpoints: Array<{ port: string; path: string }>; selector: { matchLabels: Record<string, string> } };
    expect(smSpec.endpoints).toEqual([expect.objectContaining({ port: 'ops', path: '/metrics' })]);
    // Every ops Service is selected by the ServiceMonitor.
    for (const svc of byKind(docs, 'Service')) {
      for (const [k, v] of Object.entries(smSpec.selector.matchLabels)) expect(svc.metadata.labels?.[k], `${svc.metadata.name} ${k}`).toBe(v);
    }
  });

  it('full: each secret reaches only the stage that needs it, from an existing Secret or one the chart creates', () => {
    const { docs } = render(VALUES.full);
    const deployments = Object.fromEntries(byKind(docs, 'Deployment').map((d) => [component(d), containerOf(d)]));
    const key = deployments.reasoning!.env!.find((e) => e.name === 'OPENAI_API_KEY');
    expect(key?.valueFrom?.secretKeyRef).toEqual({ name: 'nightshift-llm', key: 'api-key' });
    expect(envNames(deployments.reasoning!)).toEqual(expect.arrayContaining(['NIGHTSHIFT_LLM_MODEL', 'OPENAI_BASE_URL']));
    const sinks = deployments.sinks!;
    expect(envNames(sinks)).toEqual(expect.arrayContaining(['NIGHTSHIFT_CLICKHOUSE_URL', 'NIGHTSHIFT_CLICKHOUSE_DATABASE', 'NIGHTSHIFT_CLICKHOUSE_PASSWORD', 'NIGHTSHIFT_JIRA_URL']));
    expect(sinks.envFrom?.map((e) => e.secretRef?.name)).toEqual(['nightshift-ticketing', 'kafka-sasl']);
    for (const [name, c] of Object.entries(deployments)) {
      if (name !== 'reasoning') expect(envNames(c), name).not.toContain('OPENAI_API_KEY');
      if (name !== 'sinks') {
        expect(envNames(c).filter((n) => /CLICKHOUSE|JIRA|TICKETING/.test(n)), name).toEqual([]);
        expect((c.envFrom ?? []).map((e) => e.secretRef?.name), name).toEqual(['kafka-sasl']);
      }
    }
    const secrets = Object.fromEntries(byKind(docs, 'Secret').map((s) => [s.metadata.name, Object.keys(s.stringData ?? {})]));
    // The LLM key names an existing Secret, so the chart creates none for it.
    expect(secrets).toEqual({
      'nightshift-ticketing': ['NIGHTSHIFT_JIRA_TOKEN', 'NIGHTSHIFT_PAGERDUTY_ROUTING_KEY'],
      'nightshift-clickhouse': ['NIGHTSHIFT_CLICKHOUSE_PASSWORD'],
    });
  });

  it('full: a PrometheusRule whose alerts query only exported metrics, in the release namespace, each linking to the runbook', () => {
    const rule = byKind(render(VALUES.full).docs, 'PrometheusRule');
    expect(rule).toHaveLength(1);
    const rules = (rule[0]!.spec as { groups: Array<{ rules: Array<{ alert: string; expr: string; annotations: Record<string, string> }> }> }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(['NightshiftDown', 'NightshiftConsumerLagHigh', 'NightshiftConsumerLagGrowing', 'NightshiftDeadLetters', 'NightshiftProcessingSlow', 'NightshiftLLMFallingBack']);
    const exported = new Set<string>(Object.values(METRIC));
    const runbook = readFileSync(join(ROOT, 'deploy', 'RUNBOOK.md'), 'utf8');
    const anchors = new Set([...runbook.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const r of rules) {
      const names = [...r.expr.matchAll(/\bnightshift_[a-z0-9_]+/g)].map((m) => (exported.has(m[0]) ? m[0] : m[0].replace(/_(bucket|sum|count)$/, '')));
      expect(names.length, r.alert).toBeGreaterThan(0);
      expect(names.filter((n) => !exported.has(n)), r.alert).toEqual([]);
      for (const m of r.expr.matchAll(/nightshift_[a-z0-9_]+\{([^}]*)\}/g)) expect(m[1], r.alert).toContain('namespace="observability"');
      expect(anchors, `${r.alert}: ${r.annotations.runbook_url}`).toContain(r.annotations.runbook_url!.split('#')[1]);
    }
    expect(byKind(render(VALUES.default).docs, 'PrometheusRule')).toEqual([]);
  });

  it('allInOne: one pipeline Deployment running every stage, no per-stage Deployments', () => {
    const { docs } = render(VALUES.allInOne);
    const deployments = byKind(docs, 'Deployment');
    expect(deployments.map(component)).toEqual(['pipeline']);
    const c = containerOf(deployments[0]!);
    expect(c.args).toEqual(['run', '--config', '/etc/nightshift/config.yaml']);
    // In one process the pipeline needs both the sink and the LLM settings.
    expect(envNames(c)).toContain('NIGHTSHIFT_ANALYTICS');
  });

  it('allInOne with KEDA: one trigger per consumer group', () => {
    const { docs } = render(VALUES.allInOne, ['keda.enabled=true']);
    const so = byKind(docs, 'ScaledObject');
    expect(so).toHaveLength(1);
    const groups = (so[0]!.spec as { triggers: Array<{ metadata: { consumerGroup: string } }> }).triggers.map((t) => t.metadata.consumerGroup);
    expect(groups).toEqual(STAGES.map((s) => `nightshift-${s}`));
    expect(byKind(docs, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it.each(Object.entries(VALUES))('%s values: the ConfigMap holds a config file pipeline/config.ts accepts', async (name, files) => {
    const cm = byKind(render(files).docs, 'ConfigMap')[0]!;
    const path = join(work, `config-${name}.yaml`);
    writeFileSync(path, cm.data!['config.yaml']!);
    const cfg = await loadConfig(path, {});
    if (name === 'full') expect(cfg.pipeline.batchSize).toBe(512);
    else expect(cfg.pipeline.batchSize).toBe((await loadConfig(undefined, {})).pipeline.batchSize);
  });

  it('a config change rolls the pods (checksum annotation), other values do not', () => {
    const checksum = (docs: Manifest[]): string =>
      (byKind(docs, 'Deployment')[0]!.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations['checksum/config']!;
    const base = checksum(render(VALUES.default).docs);
    expect(checksum(render(VALUES.default, ['config.pipeline.batchSize=128']).docs)).not.toBe(base);
    expect(checksum(render(VALUES.default, ['image.tag=9.9.9']).docs)).toBe(base);
  });

  it('refuses bad values with a clear message', () => {
    const kube = ['--kube-version', T.k8sVersion];
    const mode = helm(['template', 'nightshift', CHART, ...kube, '--set', 'mode=stage']);
    expect(mode.status).not.toBe(0);
    expect(mode.stderr).toMatch(/mode must be one of the following: "stages", "allInOne"/);
    const over = helm(['template', 'nightshift', CHART, ...kube, '--set', 'kafka.partitions.events=4']);
    expect(over.status).not.toBe(0);
    expect(over.stderr).toMatch(/components.perception.autoscaling.maxReplicas \(6\) is above the 4 partitions it reads/);
    const noBrokers = helm(['template', 'nightshift', CHART, ...kube, '--set', 'kafka.brokers=']);
    expect(noBrokers.status).not.toBe(0);
    expect(noBrokers.stderr).toMatch(/kafka.brokers is required/);
    // values.schema.json: a misspelt key is an error, not a silently ignored setting.
    const typo = helm(['template', 'nightshift', CHART, ...kube, '--set', 'serviceMonitor.enable=true']);
    expect(typo.status).not.toBe(0);
    expect(typo.stderr).toMatch(/serviceMonitor: Additional property enable is not allowed/);
    const port = helm(['template', 'nightshift', CHART, ...kube, '--set', 'opsPort=70000']);
    expect(port.status).not.toBe(0);
    expect(port.stderr).toMatch(/opsPort/);
    const old = helm(['template', 'nightshift', CHART, '--kube-version', '1.24.0']);
    expect(old.status).not.toBe(0);
    expect(old.stderr).toMatch(/kubeVersion/);
  });
});

describe('helm chart: Kafka TLS and SASL', () => {
  /** The kafka section each pod's environment gives nightshift, parsed by the pipeline's own parser. */
  const kafkaOf = (d: Manifest): KafkaConfig => kafkaConfig({}, envOf(containerOf(d)));

  it('default: plaintext, no Kafka security variables or volumes', () => {
    for (const d of byKind(render(VALUES.default).docs, 'Deployment')) {
      expect(Object.keys(envOf(containerOf(d))).filter((n) => /KAFKA_(SSL|SASL)/.test(n)), component(d)).toEqual([]);
      expect(kafkaOf(d).ssl.enabled).toBe(false);
      expect(kafkaOf(d).sasl).toBeUndefined();
    }
  });

  it('full: every pod (gateway included) gets SCRAM-SHA-512 over TLS, the CA and the password as files from their Secrets; extraEnvFrom stays', () => {
    const deployments = byKind(render(VALUES.full).docs, 'Deployment');
    expect(deployments.map(component).sort()).toEqual([...STAGES, 'gateway'].sort());
    for (const d of deployments) {
      const k = kafkaOf(d);
      expect(k.ssl).toEqual({ enabled: true, caFile: '/var/run/secrets/nightshift/kafka-ca/ca.crt', rejectUnauthorized: true });
      expect(k.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'nightshift', passwordFile: '/var/run/secrets/nightshift/kafka-sasl/password' });
      expect(secretAt(d, k.ssl.caFile!), component(d)).toBe('prod-cluster-ca-cert');
      expect(secretAt(d, k.sasl!.passwordFile!), component(d)).toBe('nightshift-kafka-user');
      // The password never becomes an environment value.
      expect(envNames(containerOf(d))).not.toContain('NIGHTSHIFT_KAFKA_SASL_PASSWORD');
      expect((containerOf(d).envFrom ?? []).map((e) => e.secretRef?.name)).toContain('kafka-sasl');
    }
  });

  it('allInOne: mTLS with an encrypted key; the key, its passphrase and the certificate come from one Secret', () => {
    const d = byKind(render(VALUES.allInOne).docs, 'Deployment')[0]!;
    const k = kafkaOf(d);
    expect(k.ssl).toEqual({
      enabled: true,
      caFile: '/var/run/secrets/nightshift/kafka-ca/ca.crt',
      certFile: '/var/run/secrets/nightshift/kafka-client/tls.crt',
      keyFile: '/var/run/secrets/nightshift/kafka-client/tls.key',
      keyPassphraseFile: '/var/run/secrets/nightshift/kafka-client/key-passphrase',
      servername: 'kafka.internal.example.com',
      rejectUnauthorized: true,
    });
    for (const f of [k.ssl.caFile!, k.ssl.certFile!, k.ssl.keyFile!, k.ssl.keyPassphraseFile!]) expect(secretAt(d, f), f).toBe('nightshift-kafka-client');
    expect(k.sasl).toBeUndefined();
  });

  it('KEDA reads lag with the same credentials: without keda.authenticationRef the chart makes a TriggerAuthentication from the same Secrets', () => {
    type Trigger = { metadata: Record<string, string>; authenticationRef?: { name: string } };
    const triggers = (docs: Manifest[]): Trigger[] => byKind(docs, 'ScaledObject').flatMap((so) => (so.spec as { triggers: Trigger[] }).triggers);
    // full names its own TriggerAuthentication: the chart creates none and sets no auth metadata.
    const own = render(VALUES.full).docs;
    expect(byKind(own, 'TriggerAuthentication')).toEqual([]);
    for (const t of triggers(own)) expect([t.metadata.sasl, t.metadata.tls, t.authenticationRef?.name]).toEqual([undefined, undefined, 'kafka-sasl-auth']);
    const scram = render(VALUES.full, ['keda.authenticationRef=']).docs;
    const [ta] = byKind(scram, 'TriggerAuthentication');
    expect(() => crdValidators.TriggerAuthentication!(ta!)).not.toThrow();
    expect(ta!.spec).toEqual({
      env: [{ parameter: 'username', name: 'NIGHTSHIFT_KAFKA_SASL_USERNAME' }],
      secretTargetRef: [
        { parameter: 'password', name: 'nightshift-kafka-user', key: 'password' },
        { parameter: 'ca', name: 'prod-cluster-ca-cert', key: 'ca.crt' },
      ],
    });
    expect(triggers(scram).length).toBe(4);
    for (const t of triggers(scram)) expect([t.metadata.sasl, t.metadata.tls, t.authenticationRef?.name]).toEqual(['scram_sha512', 'enable', ta!.metadata.name]);
    const mtls = render(VALUES.allInOne, ['keda.enabled=true']).docs;
    expect((byKind(mtls, 'TriggerAuthentication')[0]!.spec as { secretTargetRef: Array<{ parameter: string; key: string }> }).secretTargetRef.map((r) => `${r.parameter}=${r.key}`)).toEqual([
      'ca=ca.crt',
      'cert=tls.crt',
      'key=tls.key',
      'keyPassword=key-passphrase',
    ]);
    for (const t of triggers(mtls)) expect([t.metadata.sasl, t.metadata.tls]).toEqual([undefined, 'enable']);
    expect(byKind(render(VALUES.default, ['keda.enabled=true']).docs, 'TriggerAuthentication')).toEqual([]);
  });

  it('refuses Kafka security values that cannot connect', () => {
    const kube = ['--kube-version', T.k8sVersion];
    const t = (sets: string[]) => helm(['template', 'nightshift', CHART, ...kube, ...sets.flatMap((x) => ['--set', x])]);
    const cases: Array<[string[], RegExp]> = [
      [['kafka.sasl.mechanism=scram-sha-512', 'kafka.sasl.password.existingSecret=p'], /kafka.sasl.username is required/],
      [['kafka.sasl.mechanism=scram-sha-512', 'kafka.sasl.username=u'], /kafka.sasl.password.existingSecret .* is required/],
      [['kafka.sasl.username=u'], /kafka.sasl.mechanism is empty/],
      [['kafka.sasl.mechanism=gssapi'], /kafka.sasl.mechanism: .*must be one of the following: "", "plain", "scram-sha-256", "scram-sha-512"/],
      [['kafka.tls.ca.existingSecret=ca'], /kafka.tls.enabled is false/],
      [['kafka.tls.enabled=true', 'kafka.tls.clientCert.passphraseKey=p'], /passphraseKey needs kafka.tls.clientCert.existingSecret/],
      [['kafka.tls.cafile=x'], /kafka.tls: Additional property cafile is not allowed/],
    ];
    for (const [sets, msg] of cases) {
      const r = t(sets);
      expect(r.status, sets.join(' ')).not.toBe(0);
      expect(r.stderr, sets.join(' ')).toMatch(msg);
    }
    expect(t(['kafka.sasl.mechanism=plain', 'kafka.sasl.username=u', 'kafka.sasl.password.existingSecret=p']).status).toBe(0);
  });
});

describe('helm chart: listeners and authentication', () => {
  it('default: every listener binds the pod address (the CLI default is loopback), no tokens, no TLS', () => {
    const { docs } = render(VALUES.default);
    for (const d of byKind(docs, 'Deployment')) {
      const env = envOf(containerOf(d));
      // Parsed the way the processes parse them.
      expect(opsHostFromEnv(env), component(d)).toBe('0.0.0.0');
      expect(hostFrom(undefined, env, 'NIGHTSHIFT_OPS_HOST', '127.0.0.1')).toBe('0.0.0.0');
      if (component(d) === 'gateway') expect(gatewayHostFromEnv(env)).toBe('0.0.0.0');
      expect(Object.keys(env).filter((n) => /TOKENS|TLS|RATE/.test(n)), component(d)).toEqual([]);
      expect(volumesOf(d).filter((v) => v.secret), component(d)).toEqual([]);
    }
    expect(opsHostFromEnv({})).toBe('127.0.0.1');
  });

  it('full: every pod mounts the token Secret as a directory where NIGHTSHIFT_TOKENS_FILE points; probes stay open; Prometheus sends a token', () => {
    const { docs } = render(VALUES.full);
    const deployments = byKind(docs, 'Deployment');
    expect(deployments.length).toBe(5);
    for (const d of deployments) {
      const c = containerOf(d);
      const env = envOf(c);
      expect(env.NIGHTSHIFT_TOKENS_FILE, component(d)).toBe('/var/run/secrets/nightshift/tokens');
      expect(secretAt(d, env.NIGHTSHIFT_TOKENS_FILE!), component(d)).toBe('nightshift-tokens-prod');
      expect(rateLimitFrom({}, env)).toEqual({ perSecond: 50, burst: 150 });
      // The scrape token cannot write.
      expect(env.NIGHTSHIFT_READ_ONLY_TOKENS).toBe('prometheus');
      // The kubelet sends no token and no client certificate: probes must hit the open, plain-HTTP endpoints.
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        expect(['/healthz', '/readyz']).toContain(p.httpGet.path);
        expect(p.httpGet.port).toBe('ops');
        expect(p.httpGet.scheme ?? 'HTTP').toBe('HTTP');
        expect(p.httpGet.httpHeaders).toBeUndefined();
      }
      // TLS is for the gateway's write port only; on a run pod it would turn the ops port (and its probes) to HTTPS.
      if (component(d) !== 'gateway') expect(tlsFrom({}, env), component(d)).toBeUndefined();
    }
    const sm = byKind(docs, 'ServiceMonitor')[0]!;
    const ep = (sm.spec as { endpoints: Array<{ authorization?: { type: string; credentials: { name: string; key: string } } }> }).endpoints[0]!;
    expect(ep.authorization).toEqual({ type: 'Bearer', credentials: { name: 'nightshift-tokens-prod', key: 'prometheus' } });
    // The existing Secret is named, so the chart creates no token Secret.
    expect(byKind(docs, 'Secret').map((s) => s.metadata.name)).not.toContain('nightshift-tokens');
  });

  it('full: the gateway serves TLS from its Secret and asks for client certificates from the CA Secret', () => {
    const gw = byKind(render(VALUES.full).docs, 'Deployment').find((d) => component(d) === 'gateway')!;
    const tls = tlsFrom({}, envOf(containerOf(gw)))!;
    expect(tls).toEqual({ cert: '/var/run/secrets/nightshift/tls/tls.crt', key: '/var/run/secrets/nightshift/tls/tls.key', clientCa: '/var/run/secrets/nightshift/client-ca/ca.crt' });
    expect(secretAt(gw, tls.cert)).toBe('nightshift-gateway-tls');
    expect(secretAt(gw, tls.key)).toBe('nightshift-gateway-tls');
    expect(secretAt(gw, tls.clientCa!)).toBe('nightshift-gateway-client-ca');
  });

  it('allInOne: tokens in values become a Secret whose mounted form the token loader reads, names intact', async () => {
    const { docs } = render(VALUES.allInOne);
    const secret = byKind(docs, 'Secret').find((s) => s.metadata.name === 'nightshift-tokens')!;
    expect(Object.keys(secret.stringData ?? {}).sort()).toEqual(['grafana-agent', 'prometheus']);
    const d = byKind(docs, 'Deployment')[0]!;
    expect(secretAt(d, envOf(containerOf(d)).NIGHTSHIFT_TOKENS_FILE!)).toBe('nightshift-tokens');
    expect(envOf(containerOf(d)).NIGHTSHIFT_READ_ONLY_TOKENS).toBe('grafana-agent');
    // What kubelet writes: one file per key.
    const mounted = join(work, 'tokens-mount');
    rmSync(mounted, { recursive: true, force: true });
    mkdirSync(mounted);
    for (const [k, v] of Object.entries(secret.stringData!)) writeFileSync(join(mounted, k), v);
    expect([...(await readTokens(mounted)).keys()]).toEqual(['grafana-agent', 'prometheus']);
    // No ServiceMonitor here, so no metricsTokenKey is needed.
    expect(byKind(docs, 'ServiceMonitor')).toEqual([]);
  });

  it('refuses auth values that would deploy something broken', () => {
    const kube = ['--kube-version', T.k8sVersion];
    const t = (sets: string[]) => helm(['template', 'nightshift', CHART, ...kube, ...sets.flatMap((x) => ['--set', x])]);
    const cases: Array<[string[], RegExp]> = [
      [['tls.clientCa.existingSecret=ca'], /tls.clientCa.existingSecret needs tls.existingSecret/],
      [['auth.existingSecret=t', 'serviceMonitor.enabled=true'], /set auth.metricsTokenKey/],
      [['auth.metricsTokenKey=prometheus'], /auth.metricsTokenKey or auth.readOnlyTokens is set but there are no tokens/],
      [['auth.tokens.a=0123456789abcdef0123', 'auth.readOnlyTokens={b}'], /auth.readOnlyTokens names "b", which is not one of auth.tokens/],
      [['auth.tokens.a=0123456789abcdef0123', 'auth.metricsTokenKey=b'], /auth.metricsTokenKey "b" is not one of auth.tokens/],
      [['auth.tokens.a=short'], /auth.tokens.a: String length must be greater than or equal to 16/],
      [['auth.tokens._x=0123456789abcdef0123'], /auth.tokens: Property name of "_x" does not match/],
      [['auth.rateLimit.burst=0'], /auth.rateLimit.burst: Must be greater than or equal to 1/],
    ];
    for (const [sets, msg] of cases) {
      const r = t(sets);
      expect(r.status, sets.join(' ')).not.toBe(0);
      expect(r.stderr, sets.join(' ')).toMatch(msg);
    }
    expect(t(['auth.existingSecret=t', 'serviceMonitor.enabled=true', 'auth.metricsTokenKey=prometheus']).status).toBe(0);
  });
});
