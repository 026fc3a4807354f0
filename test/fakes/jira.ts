import { basicCredentials, FakeHttp, isJson, isObject, parseJson, type Reply, type SeenRequest } from './http.js';

type Category = 'new' | 'indeterminate' | 'done';
interface Status {
  readonly name: string;
  readonly category: Category;
}
const STATUSES: Readonly<Record<string, Status>> = {
  todo: { name: 'To Do', category: 'new' },
  progress: { name: 'In Progress', category: 'indeterminate' },
  done: { name: 'Done', category: 'done' },
};
/** A simplified Jira Cloud workflow: transition id, name, target status, per current status. */
const WORKFLOW: Readonly<Record<string, ReadonlyArray<{ id: string; name: string; to: string }>>> = {
  todo: [
    { id: '21', name: 'In Progress', to: 'progress' },
    { id: '31', name: 'Done', to: 'done' },
  ],
  progress: [
    { id: '11', name: 'To Do', to: 'todo' },
    { id: '31', name: 'Done', to: 'done' },
  ],
  done: [{ id: '41', name: 'Reopen', to: 'todo' }],
};

export interface JiraIssue {
  id: string;
  key: string;
  summary: string;
  description: unknown;
  issuetype: string;
  labels: string[];
  status: string;
  comments: unknown[];
  properties: Map<string, unknown>;
}

const errs = (status: number, errorMessages: string[], errors: Record<string, string> = {}): Reply => ({ status, body: { errorMessages, errors } });

/** Atlassian Document Format, checked as Jira does: a doc of version 1 whose text nodes are non-empty strings. */
export function isAdf(v: unknown): boolean {
  if (!isObject(v) || v.type !== 'doc' || v.version !== 1 || !Array.isArray(v.content)) return false;
  const walk = (n: unknown, depth: number): boolean => {
    if (depth > 20 || !isObject(n) || typeof n.type !== 'string') return false;
    if (n.type === 'text') return typeof n.text === 'string' && n.text.length > 0;
    return n.content === undefined || (Array.isArray(n.content) && n.content.every((c) => walk(c, depth + 1)));
  };
  return v.content.every((c) => walk(c, 1));
}

/**
 * Jira Cloud REST v3 as nightshift uses it: basic auth (email:API token), JSON bodies, create issue with ADF
 * description, labels and issue properties, the enhanced JQL search (POST /rest/api/3/search/jql, with `properties`),
 * comments, transitions (GET/POST) and issue properties (PUT). JQL: `field = "value"` clauses joined by AND,
 * optional ORDER BY; unbounded queries are refused as on Jira Cloud.
 */
export class FakeJira {
  readonly issues = new Map<string, JiraIssue>();
  readonly http: FakeHttp;
  private seq = 0;

  constructor(
    private readonly email: string,
    private readonly token: string,
    private readonly projects: readonly string[] = ['OPS'],
    private readonly issueTypes: readonly string[] = ['Task', 'Bug'],
  ) {
    this.http = new FakeHttp((r) => this.handle(r));
  }

  async start(): Promise<this> {
    await this.http.start();
    return this;
  }

  get url(): string {
    return this.http.url;
  }

  withLabel(label: string): JiraIssue[] {
    return [...this.issues.values()].filter((i) => i.labels.includes(label));
  }

  statusName(i: JiraIssue): string {
    return (STATUSES[i.status] as Status).name;
  }

  private handle(req: SeenRequest): Reply {
    const c = basicCredentials(req);
    if (!c || c.user !== this.email || c.password !== this.token) return { status: 401, body: 'Client must be authenticated to access this resource.' };
    let body: unknown;
    if (req.method === 'POST' || req.method === 'PUT') {
      if (!isJson(req)) return { status: 415, body: 'Unsupported Media Type' };
      const j = parseJson(req);
      if (!j.ok) return errs(400, ['Unexpected character in the request body.']);
      body = j.value;
    }
    if (req.method === 'POST' && req.path === '/rest/api/3/issue') return this.create(body);
    if (req.method === 'POST' && req.path === '/rest/api/3/search/jql') return this.search(body);
    const m = /^\/rest\/api\/3\/issue\/([A-Z][A-Z0-9_]*-\d+)(\/comment|\/transitions|\/properties\/[^/]+)?$/.exec(req.path);
    if (!m) return errs(404, ['No resource found.']);
    const issue = this.issues.get(m[1] as string);
    if (!issue) return errs(404, ['Issue does not exist or you do not have permission to see it.']);
    const sub = m[2] ?? '';
    if (sub === '/comment' && req.method === 'POST') {
      if (!isObject(body) || !isAdf(body.body)) return errs(400, [], { comment: 'Comment body is not valid!' });
      issue.comments.push(body.body);
      return { status: 201, body: { id: String(10_000 + issue.comments.length), body: body.body } };
    }
    if (sub === '/transitions' && req.method === 'GET') {
      const list = WORKFLOW[issue.status] ?? [];
      return {
        status: 200,
        body: {
          expand: 'transitions',
          transitions: list.map((t) => {
            const to = STATUSES[t.to] as Status;
            return { id: t.id, name: t.name, to: { name: to.name, statusCategory: { key: to.category } }, hasScreen: false };
          }),
        },
      };
    }
    if (sub === '/transitions' && req.method === 'POST') {
      const id = isObject(body) && isObject(body.transition) ? body.transition.id : undefined;
      const t = (WORKFLOW[issue.status] ?? []).find((x) => x.id === id);
      if (!t) return errs(400, [`Transition id '${String(id)}' is not valid for this issue.`]);
      issue.status = t.to;
      return { status: 204 };
    }
    if (sub.startsWith('/properties/') && req.method === 'PUT') {
      const key = decodeURIComponent(sub.slice('/properties/'.length));
      const existed = issue.properties.has(key);
      issue.properties.set(key, body);
      return { status: existed ? 200 : 201 };
    }
    return errs(405, ['Method not allowed.']);
  }

  private create(b: unknown): Reply {
    if (!isObject(b) || !isObject(b.fields)) return errs(400, ['Fields are required.']);
    const f = b.fields;
    const e: Record<string, string> = {};
    const project = isObject(f.project) ? f.project.key : undefined;
    if (typeof project !== 'string' || !this.projects.includes(project)) e.project = 'valid project is required';
    if (typeof f.summary !== 'string' || f.summary.trim() === '') e.summary = 'You must specify a summary of the issue.';
    else if (f.summary.length > 255) e.summary = 'Summary must be less than 255 characters.';
    const type = isObject(f.issuetype) ? f.issuetype.name : undefined;
    if (typeof type !== 'string' || !this.issueTypes.includes(type)) e.issuetype = 'Specify a valid issue type';
    if (f.description !== undefined && !isAdf(f.description)) e.description = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
    const labels = f.labels ?? [];
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' && /^\S{1,255}$/.test(l))) e.labels = 'The label must not contain spaces.';
    const props = b.properties ?? [];
    if (!Array.isArray(props) || !props.every((p) => isObject(p) && typeof p.key === 'string')) e.properties = 'Invalid properties.';
    if (Object.keys(e).length > 0) return errs(400, [], e);
    this.seq++;
    const key = `${project as string}-${this.seq}`;
    const issue: JiraIssue = {
      id: String(10_000 + this.seq),
      key,
      summary: f.summary as string,
      description: f.description,
      issuetype: type as string,
      labels: labels as string[],
      status: 'todo',
      comments: [],
      properties: new Map((props as Array<{ key: string; value: unknown }>).map((p) => [p.key, p.value])),
    };
    this.issues.set(key, issue);
    return { status: 201, body: { id: issue.id, key, self: `${this.url}/rest/api/3/issue/${issue.id}` } };
  }

  private search(b: unknown): Reply {
    if (!isObject(b) || typeof b.jql !== 'string') return errs(400, ['Invalid request payload. Refer to the REST API documentation and try again.']);
    const where = b.jql.split(/\s+ORDER\s+BY\s+/i)[0]?.trim() ?? '';
    if (where === '') return errs(400, ['Unbounded JQL queries are not allowed here. Please add a search restriction to your query.']);
    const clauses: Array<[string, string]> = [];
    for (const part of where.split(/\s+AND\s+/i)) {
      const m = /^(\w+)\s*=\s*(?:"([^"]*)"|(\S+))$/.exec(part.trim());
      if (!m) return errs(400, [`Error in the JQL Query: '${part}' is not understood.`]);
      clauses.push([(m[1] as string).toLowerCase(), m[2] ?? m[3] ?? '']);
    }
    const rows = [...this.issues.values()].filter((i) =>
      clauses.every(([field, v]) => {
        if (field === 'project') return i.key.startsWith(`${v}-`);
        if (field === 'labels') return i.labels.includes(v);
        if (field === 'key') return i.key === v;
        return false;
      }),
    );
    for (const [field] of clauses) {
      if (!['project', 'labels', 'key'].includes(field)) return errs(400, [`Field '${field}' does not exist or you do not have permission to view it.`]);
    }
    const want = Array.isArray(b.properties) ? b.properties.filter((p): p is string => typeof p === 'string') : [];
    const max = typeof b.maxResults === 'number' ? b.maxResults : 50;
    return {
      status: 200,
      body: {
        issues: rows.slice(0, max).map((i) => {
          const s = STATUSES[i.status] as Status;
          const properties = Object.fromEntries(want.filter((k) => i.properties.has(k)).map((k) => [k, i.properties.get(k)]));
          return { id: i.id, key: i.key, self: `${this.url}/rest/api/3/issue/${i.id}`, fields: { status: { name: s.name, statusCategory: { key: s.category } } }, properties };
        }),
        isLast: true,
      },
    };
  }
}
