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
  return [...text.matchAll(SPAN)].map((m) => m[0]);
}

export function looksLikeCommand(text: string): boolean {
  SPAN.lastIndex = 0;
  return SPAN.test(text);
}

const norm = (s: string): string => s.replace(/[`\s]+/g, ' ').trim().toLowerCase();

/** True when every command in `text` appears (whitespace- and case-insensitively) in one of the trusted documents. */
export function commandsFrom(text: string, trusted: readonly string[]): boolean {
  const docs = trusted.map(norm);
  return commandSpans(text).every((c) => {
    const n = norm(c);
    return n.length > 0 && docs.some((d) => d.includes(n));
  });
}

export const COMMAND_REMOVED = '[command removed: not from a runbook]';

/** Replaces each command that no trusted document contains; returns the text and how many were removed. */
export function stripCommands(text: string, trusted: readonly string[]): { text: string; removed: number } {
  const docs = trusted.map(norm);
  let removed = 0;
  const out = text.replace(SPAN, (c) => {
    const n = norm(c);
    if (n.length > 0 && docs.some((d) => d.includes(n))) return c;
    removed++;
    return COMMAND_REMOVED;
  });
  return { text: out, removed };
}
