/**
 * Chi-square goodness of fit for categorical features against reference proportions, and
 * the chi-square distribution it needs: survival function, CDF and their inverses, from the
 * regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 - P(a, x).
 *
 * P is summed as a power series when x < a + 1 and Q as a continued fraction (modified
 * Lentz) otherwise, so the tail that is returned directly is the small one; the other is
 * 1 minus it. The common factor x^a·e^(-x)/Γ(a) is taken in logs; for a ≥ 10 as
 * a·ln(x/a) - (x - a) (through log1pmx near x = a) plus Stirling's series, which avoids the
 * cancellation between a·ln x, x and ln Γ(a). Relative accuracy is better than 3e-13 over
 * dof 1..200 and x up to a few thousand, down to p-values near 1e-300 (checked against
 * scipy.stats.chi2).
 */

export interface ChiSquareResult {
  /** Σ (observed - expected)² / expected over the categories the reference has. */
  readonly statistic: number;
  /** Those categories, minus one. */
  readonly dof: number;
  readonly pValue: number;
  /** Observations in categories with expected proportion 0, left out of the test. */
  readonly excluded: number;
}

/** The p-value is the verdict, and a small one means drift. */
export const chiSquareStatistic = { name: 'chi2', drifts: 'low' } as const;

/**
 * Pearson's chi-square test of observed counts against expected proportions; equal to
 * `scipy.stats.chisquare(f_obs, f_exp=proportions * f_obs.sum())` when every proportion is
 * positive. The proportions are normalised to sum to 1, so reference counts can be passed as
 * they are. Categories whose expected proportion is 0 (`__unseen__`, always, and any bin the
 * reference left empty) are left out — scipy would answer an infinite statistic as soon as
 * one of them holds an observation — so the test compares the distribution over the
 * reference's categories, with expected counts scaled to the observations there; the
 * observations left out are returned as `excluded` (the unseen-category rate is its own
 * signal). With fewer than two categories left the test has no degree of freedom and gives
 * statistic 0 and p-value 1; with no observations in them it gives NaN for both.
 */
export function chiSquareGoodnessOfFit(observed: ArrayLike<number>, expectedProportions: ArrayLike<number>): ChiSquareResult {
  if (observed.length !== expectedProportions.length) {
    throw new RangeError(`observed has ${observed.length} categories but expectedProportions has ${expectedProportions.length}`);
  }
  let proportionTotal = 0;
  let n = 0;
  let excluded = 0;
  let kept = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i]!;
    const p = expectedProportions[i]!;
    if (!(o >= 0) || !Number.isFinite(o)) throw new RangeError(`observed[${i}] = ${String(o)} is not a finite count ≥ 0`);
    if (!(p >= 0) || !Number.isFinite(p)) throw new RangeError(`expectedProportions[${i}] = ${String(p)} is not finite and ≥ 0`);
    if (p === 0) {
      excluded += o;
      continue;
    }
    proportionTotal += p;
    n += o;
    kept++;
  }
  if (kept === 0) throw new RangeError('every expected proportion is 0');
  const dof = kept - 1;
  if (n === 0) return { statistic: NaN, dof, pValue: NaN, excluded };
  if (dof === 0) return { statistic: 0, dof, pValue: 1, excluded };
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const p = expectedProportions[i]!;
    if (p === 0) continue;
    const expected = (p / proportionTotal) * n;
    const d = observed[i]! - expected;
    statistic += (d * d) / expected;
  }
  return { statistic, dof, pValue: chiSquareSf(statistic, dof), excluded };
}

/** Below this expected count in the smaller sample a bin is merged with its neighbours (Cochran's rule of thumb). */
export const MIN_EXPECTED_COUNT = 5;

/**
 * Pearson's chi-square test of homogeneity between two samples counted in the same ordered
 * bins, after merging sparse bins: walking the bins in order, consecutive bins are summed
 * until the group's expected count in the smaller sample under homogeneity,
 * min(nA, nB)·(group's a + b)/(nA + nB), reaches `minExpected` (5 by default); a last group
 * short of it joins the one before. The chi-square approximation is poor for bins with an
 * expected count below a few (one window row in a bin the reference holds at 0.02 %, or above
 * the reference's maximum, which a new row of the same population is with probability
 * 1/(n_ref + 1), would otherwise be a term of about 50). On the merged table the statistic
 * and p-value equal `scipy.stats.chi2_contingency([a, b], correction=False)`. Both samples
 * are random, so a bin the reference never saw but the window fills counts. Fewer than two
 * groups: statistic 0, p 1; an empty sample: NaN.
 */
export function chiSquareHomogeneity(a: ArrayLike<number>, b: ArrayLike<number>, minExpected = MIN_EXPECTED_COUNT): { readonly statistic: number; readonly dof: number; readonly pValue: number } {
  if (a.length !== b.length) throw new RangeError(`a has ${a.length} bins but b has ${b.length}`);
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!(x >= 0) || !Number.isFinite(x)) throw new RangeError(`a[${i}] = ${String(x)} is not a finite count ≥ 0`);
    if (!(y >= 0) || !Number.isFinite(y)) throw new RangeError(`b[${i}] = ${String(y)} is not a finite count ≥ 0`);
    na += x;
    nb += y;
  }
  if (na === 0 || nb === 0) return { statistic: NaN, dof: 0, pValue: NaN };
  const total = na + nb;
  const smaller = Math.min(na, nb);
  const groups: [number, number][] = [];
  let ga = 0;
  let gb = 0;
  for (let i = 0; i < a.length; i++) {
    ga += a[i]!;
    gb += b[i]!;
    if (ga + gb > 0 && (smaller * (ga + gb)) / total >= minExpected) {
      groups.push([ga, gb]);
      ga = 0;
      gb = 0;
    }
  }
  if (ga + gb > 0) {
    if (groups.length === 0) groups.push([ga, gb]);
    else {
      groups[groups.length - 1]![0] += ga;
      groups[groups.length - 1]![1] += gb;
    }
  }
  if (groups.length < 2) return { statistic: 0, dof: 0, pValue: 1 };
  let statistic = 0;
  for (const [x, y] of groups) {
    const ea = ((x + y) * na) / total;
    const eb = ((x + y) * nb) / total;
    statistic += (x - ea) ** 2 / ea + (y - eb) ** 2 / eb;
  }
  const dof = groups.length - 1;
  return { statistic, dof, pValue: chiSquareSf(statistic, dof) };
}

/** P(X > x) for X ~ χ²(dof). */
export function chiSquareSf(x: number, dof: number): number {
  checkDof(dof);
  if (Number.isNaN(x)) return NaN;
  return gammaTails(dof / 2, x / 2).q;
}

/** P(X ≤ x) for X ~ χ²(dof). */
export function chiSquareCdf(x: number, dof: number): number {
  checkDof(dof);
  if (Number.isNaN(x)) return NaN;
  return gammaTails(dof / 2, x / 2).p;
}

/** The x with P(X ≤ x) = p for X ~ χ²(dof), as scipy.stats.chi2.ppf. */
export function chiSquareQuantile(p: number, dof: number): number {
  checkDof(dof);
  checkProbability(p, 'p');
  if (p === 0) return 0;
  if (p === 1) return Infinity;
  return 2 * invertGamma(dof / 2, p <= 0.5 ? p : 1 - p, p > 0.5);
}

/** The x with P(X > x) = q for X ~ χ²(dof), as scipy.stats.chi2.isf; exact for tiny q. */
export function chiSquareIsf(q: number, dof: number): number {
  checkDof(dof);
  checkProbability(q, 'q');
  if (q === 0) return Infinity;
  if (q === 1) return 0;
  return 2 * invertGamma(dof / 2, q <= 0.5 ? q : 1 - q, q <= 0.5);
}

function checkDof(dof: number): void {
  if (!(dof > 0) || !Number.isFinite(dof)) throw new RangeError(`dof must be a finite number > 0, got ${String(dof)}`);
}

function checkProbability(p: number, name: string): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${String(p)}`);
}

const LOG_SQRT_2PI = 0.9189385332046728;
const MAX_ITERATIONS = 100_000;
const EPS = 1e-17;
const TINY = 1e-300;

/** lnΓ(a) - [(a - ½)·ln a - a + ½·ln 2π] for a ≥ 10: Stirling's series to a^-15 (error < 1e-18). */
function stirlingCorrection(a: number): number {
  const r = 1 / a;
  const r2 = r * r;
  return (
    r *
    (1 / 12 +
      r2 *
        (-1 / 360 +
          r2 * (1 / 1260 + r2 * (-1 / 1680 + r2 * (1 / 1188 + r2 * (-691 / 360360 + r2 * (1 / 156 + r2 * (-3617 / 122400))))))))
  );
}

/** lnΓ(a) for a > 0: Stirling's series at a ≥ 10, shifted up by the recurrence below that. */
function logGamma(a: number): number {
  if (a >= 10) return (a - 0.5) * Math.log(a) - a + LOG_SQRT_2PI + stirlingCorrection(a);
  let product = 1;
  let z = a;
  while (z < 10) product *= z++;
  return logGamma(z) - Math.log(product);
}

/** ln(1 + t) - t, accurate near 0. */
function log1pmx(t: number): number {
  if (Math.abs(t) > 0.25) return Math.log1p(t) - t;
  // -t²/2 + t³/3 - t⁴/4 + …
  let power = t;
  let sum = 0;
  for (let k = 2; k < 200; k++) {
    power *= -t;
    const term = power / k;
    sum += term;
    if (Math.abs(term) <= Math.abs(sum) * EPS) break;
  }
  return sum;
}

/** ln(x^a·e^(-x)/Γ(a)), for a > 0 and x > 0. */
function logGammaFactor(a: number, x: number): number {
  if (a >= 10) {
    // a·ln(x/a) - (x - a), through log1pmx near x = a where the two nearly cancel.
    const d = x - a;
    const core = Math.abs(d) < 0.5 * a ? a * log1pmx(d / a) : a * Math.log(x / a) - d;
    return core + 0.5 * Math.log(a) - LOG_SQRT_2PI - stirlingCorrection(a);
  }
  return a * Math.log(x) - x - logGamma(a);
}

/** The regularized incomplete gamma functions P(a, x) and Q(a, x), each as accurate as its size allows. */
function gammaTails(a: number, x: number): { p: number; q: number } {
  if (x <= 0) return { p: 0, q: 1 };
  if (x === Infinity) return { p: 1, q: 0 };
  const logFactor = logGammaFactor(a, x);
  if (x < a + 1) {
    const p = Math.exp(logFactor + Math.log(lowerSeries(a, x)));
    return { p, q: 1 - p };
  }
  const q = Math.exp(logFactor + Math.log(upperContinuedFraction(a, x)));
  return { p: 1 - q, q };
}

/** Σ x^k / (a·(a+1)·…·(a+k)): P(a, x) divided by the common factor. */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let k = 1; k < MAX_ITERATIONS; k++) {
    term *= x / (a + k);
    sum += term;
    if (term <= sum * EPS) break;
  }
  return sum;
}

/** 1/(x+1-a- 1·(1-a)/(x+3-a- 2·(2-a)/(x+5-a- …))): Q(a, x) divided by the common factor. */
function upperContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) <= EPS) break;
  }
  return h;
}

/**
 * The x with Q(a, x) = target (upper) or P(a, x) = target (lower), target ≤ ½ so the tail
 * is the accurate one. Newton on ln(tail) against u = ln x — nearly linear in both tails —
 * kept inside a bracket that bisects when a step would leave it.
 */
function invertGamma(a: number, target: number, upper: boolean): number {
  const logTarget = Math.log(target);
  // A start in the right tail: P ≈ x^a/Γ(a+1) for small x, Q ≈ e^(-x) for large x.
  let x = a;
  if (!upper) x = Math.min(a, Math.exp((logTarget + logGamma(a + 1)) / a));
  else x = Math.max(a, -logTarget);
  let u = Math.log(x);
  let lo = -Infinity;
  let hi = Infinity;
  for (let i = 0; i < 500; i++) {
    const tails = gammaTails(a, x);
    const tail = upper ? tails.q : tails.p;
    const g = Math.log(tail) - logTarget;
    if (g === 0) return x;
    // The root is at a larger x when the lower tail is short of the target or the upper one beyond it.
    if (upper ? g > 0 : g < 0) lo = u;
    else hi = u;
    // d ln(tail)/du = ±x·density/tail, with x·density = e^(logGammaFactor).
    const slope = (upper ? -1 : 1) * Math.exp(logGammaFactor(a, x)) / tail;
    let next = u - g / slope;
    if (!(next > lo && next < hi)) {
      if (Number.isFinite(lo) && Number.isFinite(hi)) next = lo + (hi - lo) / 2;
      else next = Number.isFinite(lo) ? u + 1 : u - 1;
    }
    const step = next - u;
    u = next;
    x = Math.exp(u);
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(u)) || hi - lo <= 1e-15 * Math.max(1, Math.abs(u))) break;
  }
  return x;
}
