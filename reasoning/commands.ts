/**
 * Text that looks like a command someone could paste into a shell. A model that read telemetry can be told, by
 * whoever wrote that telemetry, to suggest `curl … | sudo sh`; so a command reaches a ticket only when it is in the
 * knowledge base the team wrote (a runbook), never from the model's own words.
 */
/** Words that are commands and little else. */
const STRONG =
  'sudo|curl|wget|kubectl|helm|bash|zsh|chmod|chown|mkfs|ssh|scp|ncat|socat|python3?|perl|docker|podman|systemctl|iptables|psql|mysql|redis-cli|gcloud|terraform|ansible|apt-get|crontab|nohup|killall|pkill|powershell|iex';
/** Words that are also English or names (`service`, `node`, `kill`): a command only with a flag, a path or an `=`. */
const WEAK = 'sh|rm|mv|cp|dd|nc|oc|kill|git|node|npm|pip|apt|yum|service|eval|exec|aws|az|base64|su|ruby|mongo';
/** A backquoted span, `$(...)`, a pipe into a shell, or a command word with its arguments, to the end of its clause. */
const SPAN = new RegExp(
  [
    // Backquoted with a space or a shell character: `cartservice` is a name, `kubectl delete ns shop` a command.
    '`[^`\\n]{0,200}[\\s|$;/&<>][^`\\n]{0,200}`',
    '\\$\\([^)\\n]{1,400}\\)',
    '\\|\\s*(?:sudo\\s+)?(?:ba|z|k)?sh\\b[^\\n]{0,200}',
    `\\b(?:${STRONG})\\b(?=\\s+\\S|$)[^\\n;]{0,400}?(?=[.;](?:\\s|$)|\\n|$)`,
    `\\b(?:${WEAK})\\s+(?=-|\\S*[/=])[^\\n;]{0,400}?(?=[.;](?:\\s|$)|\\n|$)`,
  ].join('|'),
  'gi',
);

export function commandSpans(text: string): string[] {
  // matchAll starts at the shared regex's lastIndex: a fresh copy keeps one call from skipping another's text.
  return [...text.matchAll(new RegExp(SPAN))].map((m) => m[0]);
}

export function looksLikeCommand(text: string): boolean {
  return commandSpans(text).length > 0;
}

const norm = (s: string): string => s.replace(/[`\s]+/g, ' ').trim().toLowerCase();
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What a trusted document allows: its text, and each command in it as a pattern where the document's own
 * placeholders (`<db>`, `<svc>`) stand for one word, so `kubectl -n data get pods -l app=<db>` allows the same
 * command for `payments-db` and nothing longer.
 */
class Allowed {
  private readonly texts: string[];
  private readonly patterns: RegExp[];
  constructor(docs: readonly string[]) {
    this.texts = docs.map(norm);
    this.patterns = docs.flatMap((d) =>
      commandSpans(d)
        .map(norm)
        .filter((c) => c.length > 0)
        .map((c) => new RegExp(`^${escape(c).replace(/<[a-z0-9_-]{1,30}>/g, '[^\\s;|&`$]+')}$`)),
    );
  }
  has(command: string): boolean {
    const n = norm(command);
    return n.length > 0 && (this.texts.some((t) => t.includes(n)) || this.patterns.some((p) => p.test(n)));
  }
}

/** True when `text` holds commands and every one is in one of the trusted documents. */
export function commandsFrom(text: string, trusted: readonly string[]): boolean {
  const allowed = new Allowed(trusted);
  const spans = commandSpans(text);
  return spans.length > 0 && spans.every((c) => allowed.has(c));
}

export const COMMAND_REMOVED = '[command removed: not from a runbook]';

/** Replaces each command that no trusted document contains; returns the text and how many were removed. */
export function stripCommands(text: string, trusted: readonly string[]): { text: string; removed: number } {
  const allowed = new Allowed(trusted);
  let removed = 0;
  const out = text.replace(new RegExp(SPAN), (c) => {
    if (allowed.has(c)) return c;
    removed++;
    return COMMAND_REMOVED;
  });
  return { text: out, removed };
}
