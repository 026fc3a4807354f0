/** The shape of the generated gitleaks rule file (scripts/update-secret-rules.py writes it). */
export interface JsPattern {
  readonly source: string;
  readonly flags: string;
}

export interface GitleaksAllow {
  readonly regexes?: readonly JsPattern[];
  /** What an allow regex is matched against: the secret (default), the whole match, or the whole text. */
  readonly target?: string;
  readonly stopwords?: readonly string[];
}

export interface GitleaksRule extends JsPattern {
  readonly id: string;
  /** Lower case; the rule runs only on text that contains one of them (gitleaks' own prefilter). */
  readonly keywords: readonly string[];
  readonly secretGroup?: number;
  /** Least Shannon entropy (bits per character) of the secret. */
  readonly entropy?: number;
  readonly allow?: readonly GitleaksAllow[];
}

export interface GitleaksRuleSet {
  readonly version: string;
  readonly rules: readonly GitleaksRule[];
  readonly skipped: readonly string[];
  readonly global: { readonly regexes: readonly JsPattern[]; readonly stopwords: readonly string[] };
}
