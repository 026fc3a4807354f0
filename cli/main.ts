import { NightshiftError } from '../core/errors.js';
import { DEMO_HELP, demoCommand } from './demo.js';
import { EVAL_HELP, evalCommand } from './eval.js';
import { processIo, UsageError, type CliIo } from './io.js';
import { QUERY_HELP, queryCommand } from './query.js';
import { REPLAY_HELP, replayCommand } from './replay.js';
import { RUN_HELP, runCommand } from './run.js';
import { GATEWAY_HELP, gatewayCommand } from './gateway.js';
import { SIMULATE_HELP, simulateCommand } from './simulate.js';
import { DETECT_HELP, TEMPLATES_HELP, detectCommand, templatesCommand } from './offline.js';

const HELP = `nightshift: streaming AIOps pipeline

Commands:
  demo       simulate a scenario, run it, print incidents and their top-3 root causes (npm start)
  replay     run a replay file through the embedded pipeline
  simulate   write a seeded simulated world: replay file, ground truth, topology
  eval       score the pipeline on simulated scenarios or on a labelled replay file
  query      run a saved analyst query on the analytics store
  run        cluster mode: run stages on Kafka (all, or --stage ingest|perception|reasoning|sinks)
  gateway    HTTP gateway: Alertmanager webhooks and OTLP/HTTP JSON into the raw Kafka topics
  templates  log lines in, one JSON line per line with its final template out (the pipeline's miner)
  detect     NAB CSV in, timestamp,value,anomaly_score out (the pipeline's metric detector)
  help CMD   details of a command

${REPLAY_HELP}

${SIMULATE_HELP}

${EVAL_HELP}

${DEMO_HELP}

${QUERY_HELP}

${RUN_HELP}

${GATEWAY_HELP}

${TEMPLATES_HELP}

${DETECT_HELP}
`;

/** Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'replay':
        await replayCommand(rest, io);
        return 0;
      case 'simulate':
        await simulateCommand(rest, io);
        return 0;
      case 'eval':
        return await evalCommand(rest, io);
      case 'demo':
        return await demoCommand(rest, io);
      case 'query':
        return await queryCommand(rest, io);
      case 'run':
        return await runCommand(rest, io);
      case 'gateway':
        return await gatewayCommand(rest, io);
      case 'templates':
        return await templatesCommand(rest, io);
      case 'detect':
        return await detectCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(HELP);
        return cmd === undefined ? 2 : 0;
      default:
        io.stderr.write(`nightshift: unknown command ${JSON.stringify(cmd)}\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`nightshift ${cmd}: ${(err as Error).message}\n`);
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
    throw err;
  }
}
