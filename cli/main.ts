import { NightshiftError } from '../core/errors.js';
import { DEMO_HELP, DEMO_OPTIONS, demoCommand } from './demo.js';
import { EVAL_HELP, EVAL_OPTIONS, evalCommand } from './eval.js';
import { processIo, UsageError, type CliIo } from './io.js';
import { MCP_HELP, MCP_OPTIONS, mcpCommand } from './mcp.js';
import { QUERY_HELP, queryCommand } from './query.js';
import { REPLAY_HELP, REPLAY_OPTIONS, replayCommand } from './replay.js';
import { RUN_HELP, RUN_OPTIONS, runCommand } from './run.js';
import { GATEWAY_HELP, GATEWAY_OPTIONS, gatewayCommand } from './gateway.js';
import { SHOW_HELP, SHOW_OPTIONS, showCommand } from './show.js';
import { UI_HELP, UI_OPTIONS, uiCommand } from './ui.js';
import { VALUE_HELP, VALUE_OPTIONS, valueCommand } from './value.js';
import { SIMULATE_HELP, SIMULATE_OPTIONS, simulateCommand } from './simulate.js';
import { DETECT_HELP, OFFLINE_OPTIONS, TEMPLATES_HELP, detectCommand, templatesCommand } from './offline.js';
import { describeKafkaFailure } from '../pipeline/kafka/security.js';

/**
 * Every command, its help and the options it parses. One table, so that `--help` works the same on each, the
 * overview cannot leave one out, and a test can check each help against the options the command really takes.
 */
export interface CommandSpec {
  readonly summary: string;
  readonly help: string;
  /** parseArgs options (query takes a positional name only). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly run: (argv: string[], io: CliIo) => Promise<number>;
}

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  demo: { summary: 'simulate a scenario, run it, print incidents and their top-3 root causes (npm start)', help: DEMO_HELP, options: DEMO_OPTIONS, run: demoCommand },
  replay: {
    summary: 'run a replay file through the embedded pipeline',
    help: REPLAY_HELP,
    options: REPLAY_OPTIONS,
    run: async (a, io) => {
      await replayCommand(a, io);
      return 0;
    },
  },
  simulate: {
    summary: 'write a seeded simulated world: replay file, ground truth, topology',
    help: SIMULATE_HELP,
    options: SIMULATE_OPTIONS,
    run: async (a, io) => {
      await simulateCommand(a, io);
      return 0;
    },
  },
  eval: { summary: 'score the pipeline on simulated scenarios or on a labelled replay file', help: EVAL_HELP, options: EVAL_OPTIONS, run: evalCommand },
  query: { summary: 'run a saved analyst query on the analytics store', help: QUERY_HELP, options: {}, run: queryCommand },
  value: {
    summary: 'value accounting per service or team: alerts absorbed, incidents, tickets, time to root cause, on-call minutes saved',
    help: VALUE_HELP,
    options: VALUE_OPTIONS,
    run: (a, io) => valueCommand(a, io),
  },
  mcp: { summary: 'MCP server (stdio, or streamable HTTP with --http): incidents, evidence, feedback, runbooks for agents', help: MCP_HELP, options: MCP_OPTIONS, run: (a, io) => mcpCommand(a, io) },
  ui: { summary: 'the incident view: a web page over the analytics store (incidents live, causes, plots, feedback)', help: UI_HELP, options: UI_OPTIONS, run: (a, io) => uiCommand(a, io) },
  show: { summary: 'print one incident from the analytics store as the view shows it (or --json)', help: SHOW_HELP, options: SHOW_OPTIONS, run: (a, io) => showCommand(a, io) },
  run: { summary: 'cluster mode: run stages on Kafka (all, or --stage ingest|perception|reasoning|sinks)', help: RUN_HELP, options: RUN_OPTIONS, run: (a, io) => runCommand(a, io) },
  gateway: {
    summary: 'HTTP gateway: Alertmanager webhooks, OTLP/HTTP (JSON or protobuf) and change events into the raw Kafka topics',
    help: GATEWAY_HELP,
    options: GATEWAY_OPTIONS,
    run: (a, io) => gatewayCommand(a, io),
  },
  templates: { summary: "log lines in, one JSON line per line with its final template out (the pipeline's miner)", help: TEMPLATES_HELP, options: OFFLINE_OPTIONS, run: templatesCommand },
  detect: { summary: "NAB CSV in, timestamp,value,anomaly_score out (the pipeline's metric detector)", help: DETECT_HELP, options: OFFLINE_OPTIONS, run: detectCommand },
};

const HELP = `nightshift: streaming AIOps pipeline

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}
  help CMD   details of a command (as does \`nightshift CMD --help\` or -h)

${Object.values(COMMANDS)
  .map((c) => c.help)
  .join('\n\n')}
`;

/** `--help` or `-h` anywhere before a `--` (after it, arguments are positional by parseArgs' rule). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  const spec = cmd !== undefined && Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  try {
    if (spec) {
      // Before the command parses anything: help must work even when required options are missing.
      if (wantsHelp(rest)) {
        io.stdout.write(`${spec.help}\n`);
        return 0;
      }
      return await spec.run(rest, io);
    }
    switch (cmd) {
      case 'help': {
        const topic = rest[0];
        if (topic === undefined || wantsHelp([topic])) break;
        const about = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
        if (!about) {
          io.stderr.write(`nightshift help: unknown command ${JSON.stringify(topic)}; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
          return 2;
        }
        io.stdout.write(`${about.help}\n`);
        return 0;
      }
      case undefined:
      case '--help':
      case '-h':
        break;
      default:
        io.stderr.write(`nightshift: unknown command ${JSON.stringify(cmd)}\n\n${HELP}`);
        return 2;
    }
    io.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`nightshift ${cmd}: ${(err as Error).message}\nRun \`nightshift ${cmd} --help\` for its usage and options.\n`);
      return 2;
    }
    if (err instanceof NightshiftError) {
      io.stderr.write(`nightshift ${cmd}: ${err.code}: ${err.message}\n`);
      return err.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    const code = err instanceof Error ? String((err as NodeJS.ErrnoException).code ?? '') : '';
    if (code.startsWith('Z_') || code.startsWith('ERR_ZLIB') || code.startsWith('ERR_BUFFER')) {
      io.stderr.write(`nightshift ${cmd}: the input is not a readable gzip or text stream: ${(err as Error).message}\n`);
      return 1;
    }
    if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      io.stderr.write(`nightshift ${cmd}: ${err.message}\n`);
      return 1;
    }
    // kafkajs gives up after its retries with a chain of causes: one line saying what failed (unreachable, refused
    // credentials, TLS) and what to check.
    const kafka = describeKafkaFailure(err);
    if (kafka) {
      io.stderr.write(`nightshift ${cmd}: ${kafka}\n`);
      return 1;
    }
    throw err;
  }
}
