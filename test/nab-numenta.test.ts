/**
 * The scorer against NAB's own published numbers: the Numenta HTM detector's result files shipped with the corpus,
 * re-scored here, must give the scores in results/final_results.json (standard 70.1) within 0.5.
 * Reads the corpus at ../shared/data/nab from the repo root, or NIGHTSHIFT_NAB_DIR; fails (does not skip) without it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCorpus, readFinalResults, readResultScores, resolveNabDir, resultPath, type NabCorpus } from '../bench/nab/corpus.js';
import { CorpusScorer } from '../bench/nab/score.js';

const dir = resolveNabDir();

describe('NAB scorer reproduces the published Numenta HTM scores', () => {
  let corpus: NabCorpus;
  let scorer: CorpusScorer;
  let numenta: Float64Array[];
  let published: Record<string, Record<string, number>>;

  beforeAll(() => {
    if (!existsSync(path.join(dir, 'labels', 'combined_windows.json'))) {
      throw new Error(`NAB corpus not found at ${dir}: put it at ../shared/data/nab next to the repo or set NIGHTSHIFT_NAB_DIR`);
    }
    corpus = loadCorpus(dir);
    scorer = new CorpusScorer(corpus);
    numenta = corpus.files.map((f) => readResultScores(resultPath(path.join(dir, 'results'), 'numenta', f.relPath), f.values.length));
    const p = readFinalResults(dir);
    if (p === null) throw new Error(`${dir}/results/final_results.json is missing`);
    published = p;
  }, 60_000);

  it('reads the whole corpus: 58 files, 116 windows', () => {
    expect(corpus.files.length).toBe(58);
    expect(corpus.windowCount).toBe(116);
    expect(Object.keys(corpus.profiles).sort()).toEqual(['reward_low_FN_rate', 'reward_low_FP_rate', 'standard']);
  });

  it('the null detector scores -fnWeight per window', () => {
    expect(scorer.nullScore('standard')).toBe(-116);
    expect(scorer.nullScore('reward_low_FN_rate')).toBe(-232);
  });

  for (const profile of ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate']) {
    it(`${profile}: within 0.5 of final_results.json with NAB's hill-climb threshold`, () => {
      const want = published.numenta?.[profile];
      expect(want).toBeTypeOf('number');
      const got = scorer.score(profile, numenta, 'twiddle').normalized;
      expect(Math.abs(got - (want as number))).toBeLessThan(0.5);
    }, 60_000);
  }

  it('the standard profile is 70.1 and the exhaustive sweep never scores below the hill-climb', () => {
    const tw = scorer.score('standard', numenta, 'twiddle');
    expect(tw.normalized).toBeGreaterThan(69.6);
    expect(tw.normalized).toBeLessThan(70.6);
    for (const profile of scorer.profiles()) {
      expect(scorer.score(profile, numenta, 'sweep').normalized).toBeGreaterThanOrEqual(scorer.score(profile, numenta, 'twiddle').normalized - 1e-9);
    }
  }, 60_000);
});
