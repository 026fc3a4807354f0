/**
 * Log parsing accuracy metrics, implemented from their published definitions (pure functions, no I/O).
 *
 *  - GA, grouping accuracy (Zhu et al., ICSE-SEIP 2019, "Tools and benchmarks for automated log parsing"): the share
 *    of messages whose predicted group is exactly their ground-truth group (the same set of messages).
 *  - FGA, F1 of grouping accuracy (Jiang et al., ISSTA 2024, "A large-scale evaluation for log parsing techniques:
 *    how far are we?", Loghub-2.0): precision = correct groups / predicted groups, recall = correct groups /
 *    ground-truth groups, where a predicted group is correct when it equals a ground-truth group.
 *  - PA, parsing accuracy (Khan et al., ICSE 2022, "Guidelines for assessing the accuracy of log message template
 *    identification techniques"; Loghub-2.0): the share of messages whose predicted template equals the truth.
 *  - FTA, F1 of template accuracy (Khan et al. 2022; Loghub-2.0): precision = correct templates / predicted
 *    templates, recall = correct templates / ground-truth templates. A predicted template is correct when its group
 *    is correct (as for FGA) AND its text equals the ground-truth template of that group.
 *
 * Template comparison: both sides go through `normalizeTemplate` (see there). Loghub-2.0's evaluator
 * (logpai/loghub-2.0, benchmark/evaluation/utils/PA_calculator.py, calculate_parsing_accuracy) compares the
 * EventTemplate strings exactly; its corrected ground truth was produced by `correct_single_template`
 * (benchmark/evaluation/utils/common.py), whose DS rule trims and collapses whitespace and whose CV rule folds `<*><*>`
 * into `<*>`. We apply exactly those two rules to both sides (on the corrected truth they change nothing) and no other
 * rule, so a prediction is never rewritten towards the truth's style.
 *
 * FTA variant: Loghub-2.0's code (template_level_analysis.py, evaluate_template_level) counts a predicted template as
 * correct when all its messages share ONE truth template equal to its text, without requiring that the predicted
 * group holds ALL messages of that truth template. We report that lenient figure too (`ftaLenient`), so numbers can
 * be set beside published ones; `fta` is the strict definition above.
 */

export const WILDCARD = '<*>';

/** One message's label: the key of its group and its template text. */
export interface Labelled {
  readonly group: string;
  readonly template: string;
}

export interface F1 {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface ParsingScores {
  readonly messages: number;
  readonly truthGroups: number;
  readonly predictedGroups: number;
  /** Grouping accuracy. */
  readonly ga: number;
  /** F1 of grouping accuracy (precision = PGA, recall = RGA). */
  readonly fga: F1;
  /** Parsing accuracy. */
  readonly pa: number;
  /** F1 of template accuracy, strict (group exactly right and text right). */
  readonly fta: F1;
  /** F1 of template accuracy as Loghub-2.0's code counts it (group pure and text right; see the file comment). */
  readonly ftaLenient: F1;
}

/** DS and CV rules of Loghub-2.0's template correction: trim, one space between tokens, `<*><*>` -> `<*>`. */
export function normalizeTemplate(template: string): string {
  let t = template.trim().replace(/\s+/g, ' ');
  while (t.includes('<*><*>')) t = t.replaceAll('<*><*>', WILDCARD);
  return t;
}

export function f1(correct: number, predicted: number, truth: number): F1 {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = truth === 0 ? 0 : correct / truth;
  const f = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1: f };
}

interface Group {
  readonly members: number[];
  /** The normalized template of the group (one per group, checked). */
  readonly template: string;
}

/** Groups message indices by key; every message of a group must carry the same (normalized) template. */
function groupBy(labels: readonly Labelled[], side: string): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as Labelled;
    const t = normalizeTemplate(l.template);
    const g = groups.get(l.group);
    if (g === undefined) {
      groups.set(l.group, { members: [i], template: t });
    } else {
      if (g.template !== t) {
        throw new RangeError(`${side} group ${JSON.stringify(l.group)} carries two templates: ${JSON.stringify(g.template)} and ${JSON.stringify(t)}`);
      }
      g.members.push(i);
    }
  }
  return groups;
}

/**
 * All four metrics for one log. `truth[i]` and `predicted[i]` label the same message i. Group keys are compared only
 * for equality within one side (a predicted key never needs to equal a truth key).
 */
export function scoreParsing(truth: readonly Labelled[], predicted: readonly Labelled[]): ParsingScores {
  if (truth.length !== predicted.length) {
    throw new RangeError(`truth has ${truth.length} messages, prediction ${predicted.length}`);
  }
  if (truth.length === 0) throw new RangeError('no messages to score');
  const n = truth.length;
  const truthGroups = groupBy(truth, 'truth');
  const predGroups = groupBy(predicted, 'predicted');

  // A truth group is correctly grouped when all its messages share one predicted key and that predicted group has no
  // other message: the sets are equal.
  let groupedMessages = 0;
  let correctGroups = 0;
  let correctTemplates = 0;
  for (const tg of truthGroups.values()) {
    const key = (predicted[tg.members[0] as number] as Labelled).group;
    if (!tg.members.every((i) => (predicted[i] as Labelled).group === key)) continue;
    const pg = predGroups.get(key) as Group;
    if (pg.members.length !== tg.members.length) continue;
    groupedMessages += tg.members.length;
    correctGroups++;
    if (pg.template === tg.template) correctTemplates++;
  }

  let parsed = 0;
  for (let i = 0; i < n; i++) {
    if (normalizeTemplate((predicted[i] as Labelled).template) === normalizeTemplate((truth[i] as Labelled).template)) parsed++;
  }

  // Lenient template accuracy: a predicted group is right when its messages have one truth template, equal to its own.
  let lenient = 0;
  for (const pg of predGroups.values()) {
    const t0 = normalizeTemplate((truth[pg.members[0] as number] as Labelled).template);
    if (t0 !== pg.template) continue;
    if (pg.members.every((i) => normalizeTemplate((truth[i] as Labelled).template) === t0)) lenient++;
  }

  return {
    messages: n,
    truthGroups: truthGroups.size,
    predictedGroups: predGroups.size,
    ga: groupedMessages / n,
    fga: f1(correctGroups, predGroups.size, truthGroups.size),
    pa: parsed / n,
    fta: f1(correctTemplates, predGroups.size, truthGroups.size),
    ftaLenient: f1(lenient, predGroups.size, truthGroups.size),
  };
}
