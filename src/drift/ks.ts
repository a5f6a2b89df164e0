/**
 * Two-sample Kolmogorov–Smirnov test, equal to SciPy 1.10.1's
 * `scipy.stats.ks_2samp(a, b, alternative='two-sided', method='auto')`.
 *
 * Statistic: D = max |F_a(x) - F_b(x)| over every pooled value x, each empirical CDF counting
 * the observations ≤ x (numpy's `searchsorted(side='right')`). A value tied within or across the
 * samples therefore moves both CDFs at once and never inflates D. The two sorted copies are merged
 * in one pass.
 *
 * p-value, with scipy's 'auto' switch:
 * - max(n1, n2) ≤ 10000 → 'exact'. D is snapped to h / lcm(n1, n2) with h = round(D·lcm). When
 *   n1 = n2 the alternating binomial sum of `_compute_prob_outside_square` is used, otherwise the
 *   gcd-reduced lattice-path recursion of `_compute_outer_prob_inside_method` (Hodges 1958,
 *   Viehmann 2021). The exact distribution assumes continuous data, so like scipy it ignores
 *   ties. If the result falls outside [0, 1], scipy warns and falls back to 'asymp'. Rounding can
 *   push n1 = n2, small-h results just above 1, so this happens for a few nearly interleaved
 *   samples. The fallback is reproduced here without the warning and shows up in `method`.
 * - otherwise → 'asymp': p = kstwo.sf(D, round(n1·n2 / (n1 + n2))). This is the one-sample
 *   two-sided Kolmogorov distribution at the effective sample size, not the limiting kstwobign. As
 *   in scipy's `_kolmogn` (Simard & L'Ecuyer 2011), the method depends on n and n·D²:
 *   Ruben–Gambino, the Durbin matrix (Marsaglia–Tsang–Wang), Pomeranz, Pelz–Good, or
 *   2·smirnov(n, D). Here smirnov is an exact Birnbaum–Tingey sum; above n = 10⁶ it is
 *   exp(-(6nD+1)²/18n), as in scipy.
 * p is clipped to [0, 1]. A low p-value signals drift.
 *
 * Both samples must be non-empty and free of NaN (a RangeError names the sample and the index).
 * Callers remove missing values before the test. ±Infinity are ordinary values. The inputs are
 * copied, never mutated.
 */

/** A low p-value means the two samples differ, i.e. drift. */
export const ksStatistic = { name: 'ks', drifts: 'low' } as const;

export interface Ks2sampResult {
  /** D, the largest distance between the two empirical CDFs. */
  readonly statistic: number;
  readonly pValue: number;
  /** How the p-value was computed; 'asymp' also when the exact computation fell back. */
  readonly method: 'exact' | 'asymp';
}

/** scipy's MAX_AUTO_N: 'auto' tries the exact p-value when max(n1, n2) ≤ this. */
const MAX_AUTO_N = 10000;

export function ks2samp(a: ArrayLike<number>, b: ArrayLike<number>): Ks2sampResult {
  return ks2sampOfSorted(sortedCopy(a, 'a'), sortedCopy(b, 'b'));
}

/**
 * The same test on samples already sorted ascending and free of NaN (the drift evaluation
 * sorts each window column once and keeps the reference sorted): no copy, no sort, no check.
 */
export function ks2sampOfSorted(x: Float64Array, y: Float64Array): Ks2sampResult {
  if (x.length === 0 || y.length === 0) throw new RangeError(`ks2samp: sample ${x.length === 0 ? 'a' : 'b'} is empty`);
  return fromStatistic(statistic(x, y), x.length, y.length);
}

/**
 * The same test of a window against a sorted reference without sorting the window: each
 * window value is counted between the reference's distinct values (binary search,
 * O(n log m)), and D is taken at the reference values and at the last window value of
 * each gap, which is where the extremes of F_ref − F_window lie. The counts, hence D and
 * the p-value, are those of scipy. NaN values in `values` are skipped (missing).
 */
export function ks2sampAgainstReference(reference: Float64Array, values: ArrayLike<number>): Ks2sampResult | null {
  const n1 = reference.length;
  if (n1 === 0) throw new RangeError('ks2samp: sample a is empty');
  // Distinct reference values and the count of reference values ≤ each.
  const distinct: number[] = [];
  const refLe: number[] = [];
  for (let i = 0; i < n1; i++) {
    const v = reference[i]!;
    if (distinct.length > 0 && distinct[distinct.length - 1] === v) refLe[refLe.length - 1] = i + 1;
    else {
      distinct.push(v);
      refLe.push(i + 1);
    }
  }
  const m = distinct.length;
  const r = Float64Array.from(distinct);
  const equal = new Float64Array(m);
  const gap = new Float64Array(m + 1); // gap[k]: values strictly between r[k-1] and r[k]
  let n2 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== v) continue;
    n2++;
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo < m && r[lo] === v) equal[lo]! += 1;
    else gap[lo]! += 1;
  }
  if (n2 === 0) return null;
  let maxS = -Infinity;
  let minDiff = Infinity;
  const see = (diff: number) => {
    if (diff > maxS) maxS = diff;
    if (diff < minDiff) minDiff = diff;
  };
  let c = gap[0]!;
  if (c > 0) see(0 - c / n2);
  for (let k = 0; k < m; k++) {
    c += equal[k]!;
    const f1 = refLe[k]! / n1;
    see(f1 - c / n2);
    if (gap[k + 1]! > 0) {
      c += gap[k + 1]!;
      see(f1 - c / n2);
    }
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  return fromStatistic(minS > maxS ? minS : maxS, n1, n2);
}

/** scipy's p-value (and exact-path snapping of D) for a statistic D between samples of n1 and n2. */
export function ks2sampFromStatistic(statisticD: number, n1: number, n2: number): Ks2sampResult {
  return fromStatistic(statisticD, n1, n2);
}

function fromStatistic(statisticD: number, n1: number, n2: number): Ks2sampResult {
  let d = statisticD;
  if (Math.max(n1, n2) <= MAX_AUTO_N) {
    // _attempt_exact_2kssamp
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, method: 'exact' };
    const prob = exactProbability(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: d, pValue: prob, method: 'exact' };
    // Otherwise scipy warns "Exact calculation unsuccessful" and falls through, keeping d = h/lcm.
  }

  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: clip01(kstwoSf(d, roundHalfEven(en))), method: 'asymp' };
}

/**
 * The exact lattice probability costs O(max(n1, n2)·D·min(n1, n2)) operations (about a
 * million for 1,000 rows against a 5,000-row reference), and one evaluation asks it for
 * every feature with the same n1 and n2 (no missing values) and a D that takes few values
 * (h/lcm): the answers are kept, a bounded number of them, keyed by (n1, n2, h).
 */
const EXACT_CACHE_SIZE = 4096;
const exactCache = new Map<string, number>();
function exactProbability(n1: number, n2: number, g: number, h: number): number {
  const key = `${n1},${n2},${h}`;
  let prob = exactCache.get(key);
  if (prob === undefined) {
    prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInsideMethod(n1, n2, g, h);
    if (exactCache.size >= EXACT_CACHE_SIZE) exactCache.clear();
    exactCache.set(key, prob);
  }
  return prob;
}

function sortedCopy(values: ArrayLike<number>, name: 'a' | 'b'): Float64Array {
  if (values.length === 0) throw new RangeError(`ks2samp: sample ${name} is empty`);
  const out = new Float64Array(values);
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i]!)) {
      throw new RangeError(`ks2samp: sample ${name} has NaN at index ${i}; remove missing values before the test`);
    }
  }
  return out.sort();
}

/** max(max(cdf1 - cdf2), clip(-min(cdf1 - cdf2), 0, 1)) over the pooled values, as scipy. */
function statistic(x: Float64Array, y: Float64Array): number {
  const n1 = x.length;
  const n2 = y.length;
  let i = 0;
  let j = 0;
  let maxS = -Infinity;
  let minDiff = Infinity;
  while (i < n1 || j < n2) {
    let v: number;
    if (j >= n2) v = x[i]!;
    else if (i >= n1) v = y[j]!;
    else v = Math.min(x[i]!, y[j]!);
    while (i < n1 && x[i]! <= v) i++;
    while (j < n2 && y[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  return minS > maxS ? minS : maxS;
}

function gcd(p: number, q: number): number {
  while (q !== 0) [p, q] = [q, p % q];
  return p;
}

/** numpy.round: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const frac = v - f;
  if (frac > 0.5) return f + 1;
  if (frac < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p; // NaN passes through, as with np.clip
}

// ---------------------------------------------------------------------------------------------
// Exact two-sample distribution (scipy/stats/_stats_py.py and _stats_pythran.py)

/** Pr(D_{n,n} ≥ h/n): 2·Σ ±binom(2n, n - kh)/binom(2n, n), in scipy's Horner-like form. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Share of the lattice paths from (0, 0) to (m, n) that leave |x/m - y/n| < h/lcm(m, n),
 * computed directly as 1 - p (Viehmann's recursion) one column at a time over the band.
 */
function outerProbInsideMethod(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, Math.min(maxj - minj + (lastlen - curlen), lenA));
  }
  return A[maxj - minj - 1]!;
}

// ---------------------------------------------------------------------------------------------
// kstwo: the two-sided one-sample Kolmogorov distribution (scipy/stats/_ksstats.py, _kolmogn)

const E128 = 2 ** 128;
const EM128 = 2 ** -128;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;

/** kstwo.sf(x, n) with rv_continuous's support handling: 1 at or below 0.5/n, 0 from 1 up. */
function kstwoSf(x: number, n: number): number {
  if (!(n >= 1)) return NaN;
  if (x <= 0.5 / n) return 1;
  if (!(x < 1)) return 0;
  return kolmognSf(n, x);
}

/** _kolmogn(n, x, cdf=False). */
function kolmognSf(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: 1/2n ≤ x ≤ 1/n, cdf = n!/n^n·(2t - 1)^n
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      const rn = 1 / n;
      const c = 2 * t - 1;
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * rn * c;
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * Math.pow(1 - x, n)); // Ruben–Gambino
  if (x >= 0.5) return clip01(2 * smirnov(n, x));

  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1 - durbinMtwCdf(n, x));
    if (nxsquared <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnov(n, x));
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip01(2 * smirnov(n, x));
  const cdf = n <= 100000 && n * Math.pow(x, 1.5) <= 1.4 ? durbinMtwCdf(n, x) : pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

const STIRLING_COEFFS = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
  -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

/** log(n!/n^n) by Stirling's series with the n·log n term taken out. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  const u = rn / n;
  let poly = 0;
  for (const c of STIRLING_COEFFS) poly = poly * u + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/** p·2^e without overflowing 2^e on the way. */
function ldexp(p: number, e: number): number {
  while (e > 1000) {
    p *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    p *= 2 ** -1000;
    e += 1000;
  }
  return p * 2 ** e;
}

/** Pr(D_n ≤ d) by Durbin's matrix, as in Marsaglia, Tsang & Wang (2003): row k of H^n, scaled. */
function durbinMtwCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  const v = new Float64Array(m);
  const w = new Float64Array(m);
  for (let j = 1; j <= m; j++) v[j - 1] = 1 - Math.pow(h, j);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1]! *= fac;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * fac;

  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1]!;
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let Hpwr: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  const kk = (k - 1) * m + (k - 1);
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H, m);
      expnt += Hexpnt;
    }
    H = matmul(H, H, m);
    Hexpnt *= 2;
    if (Math.abs(H[kk]!) > E128) {
      for (let i = 0; i < H.length; i++) H[i]! /= E128;
      Hexpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }

  let p = Hpwr[kk]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = ldexp(p, expnt);
  return clip01(p);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const c = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const ci = i * m;
    for (let l = 0; l < m; l++) {
      const ail = a[ci + l]!;
      if (ail === 0) continue;
      const bl = l * m;
      for (let j = 0; j < m; j++) c[ci + j]! += ail * b[bl + j]!;
    }
  }
  return c;
}

/** Endpoints of the non-zero stretch of row i in Pomeranz's recursion. */
function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n ≤ x) by Pomeranz's recursion (1974); used for n ≤ 140. */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * gOverN) / m;
    twogpower[m] = (twogpower[m - 1]! * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * oneMinusTwoGOverN) / m;
  }

  let V0: Float64Array = new Float64Array(npwrs);
  let V1: Float64Array = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // V1[r] = (V0[k1 - V0s : +ln2] ⊛ pwrs[:ln2])[j1 - k1 + r], r < j2 - j1 + 1
      const segStart = k1 - V0s;
      const segLen = Math.min(ln2, npwrs - segStart);
      const pwLen = Math.min(ln2, npwrs);
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let vmax = 0;
      for (let r = 0; r < convLen; r++) {
        const q = convStart + r;
        let s = 0;
        const lo = Math.max(0, q - pwLen + 1);
        const hi = Math.min(segLen - 1, q);
        for (let l = lo; l <= hi; l++) s += V0[segStart + l]! * pwrs[q - l]!;
        V1[r] = s;
        if (s > vmax) vmax = s;
      }
      if (vmax > 0 && vmax < EM128) {
        for (let r = 0; r < npwrs; r++) V1[r]! *= E128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }

  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > E128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ldexp(ans, expnt);
  return clip01(ans);
}

/** Pelz–Good (1976) approximation to Pr(D_n ≤ x), for large n and small n·x². Not clipped. */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const zsquared = z ** 2;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;
  const qlog = -PI2 / 8 / zsquared;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);

  const k1a = -zsquared;
  const k1b = PI2 / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * zsquared)) / 16;
  const k3d = (PI6 * (5 - 30 * zsquared)) / 64;
  const k3c = (PI4 * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI2 * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;

  let K0 = 0;
  let K1 = 0;
  let K2 = 0;
  let K3 = 0;
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m ** 2;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = Math.pow(q, 8 * k);
    K0 = K0 * qpower + 1;
    K1 = K1 * qpower + (k1a + k1b * msquared);
    K2 = K2 * qpower + (k2a + k2b * msquared + k2c * mfour);
    K3 = K3 * qpower + (k3a + k3b * msquared + k3c * mfour + k3d * msix);
  }
  K0 = ((K0 * q) * SQRT_2PI) / z;
  K1 = ((K1 * q) * SQRT_2PI) / (6 * zfour);
  K2 = ((K2 * q) * SQRT_2PI) / (72 * z ** 7);
  K3 = ((K3 * q) * SQRT_2PI) / (6480 * z ** 10);

  q = Math.exp(-PI2 / 2 / zsquared);
  const sqrt3z = Math.sqrt(3) * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ksquared = k * k;
    const kspi = Math.PI * k;
    const qpwr = Math.pow(q, ksquared);
    k2extra += ksquared * qpwr;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwr;
  }
  K2 += k2extra * ((PI2 * SQRT_2PI) / (-36 * zthree));
  K3 += k3extra * ((PI2 * SQRT_2PI) / (216 * zsix));
  K1 /= Math.sqrt(n);
  K2 /= n;
  K3 /= Math.pow(n, 1.5);
  return K0 + K1 + K2 + K3;
}

// ---------------------------------------------------------------------------------------------
// smirnov(n, x) = Pr(D_n+ ≥ x), the one-sided one-sample distribution

const SMIRNOV_MAX_EXACT_N = 1_000_000;

/** s(k) = ln k! - (k + ½)·ln k + k - ½·ln 2π, Stirling's remainder; exact sums for k < 16. */
const STIRLING_REMAINDER_SMALL: number[] = [0];
for (let k = 1, logFact = 0; k < 16; k++) {
  logFact += Math.log(k);
  STIRLING_REMAINDER_SMALL.push(logFact - (k + 0.5) * Math.log(k) + k - LOG_2PI / 2);
}
function stirlingRemainder(k: number): number {
  if (k < 16) return STIRLING_REMAINDER_SMALL[k]!;
  const r = 1 / k;
  const r2 = r * r;
  return r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360))))));
}

/** a·b as an unevaluated sum hi + lo (Dekker). */
function twoProduct(a: number, b: number): [number, number] {
  const hi = a * b;
  const split = (v: number): [number, number] => {
    const c = 134217729 * v;
    const big = c - (c - v);
    return [big, v - big];
  };
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  const lo = ah * bh - hi + ah * bl + al * bh + al * bl;
  return [hi, lo];
}

/**
 * Pr(D_n+ ≥ x) by the Birnbaum–Tingey sum x·Σ_{j < n(1-x)} C(n,j)(1 - x - j/n)^(n-j)(x + j/n)^(j-1).
 * Every term is positive, so each is taken in logs, with C(n,j)·((n-j)/n)^(n-j)·(j/n)^j through
 * Stirling's series (its large parts cancel exactly), and summed with a running maximum.
 * Beyond n = 10⁶ scipy uses exp(-(6nx+1)²/(18n)), and so does this.
 */
function smirnov(n: number, x: number): number {
  if (!(x > 0)) return 1;
  if (!(x < 1)) return 0;
  if (n === 1) return 1 - x;
  if (n > SMIRNOV_MAX_EXACT_N) {
    const a = 6 * n * x + 1;
    return Math.exp(-(a * a) / (18 * n));
  }
  const [xnHi, xnLo] = twoProduct(n, x);
  const xn = xnHi + xnLo;
  const sn = stirlingRemainder(n);
  // j = 0: (1 - x)^n
  let lmax = n * Math.log1p(-x);
  let sum = 1;
  for (let j = 1; j < n; j++) {
    const A = n - j;
    const rem = A - xnHi - xnLo; // A - n·x, to about twice the working precision
    if (!(rem > 0)) break;
    const u = xn / A;
    const logBase = u < 0.5 ? Math.log1p(-u) : Math.log(rem / A);
    const l =
      0.5 * Math.log(n / (2 * Math.PI * j * A)) +
      (sn - stirlingRemainder(j) - stirlingRemainder(A)) +
      A * logBase +
      (j - 1) * Math.log1p(xn / j) +
      Math.log(xn / j);
    if (l > lmax) {
      sum = sum * Math.exp(lmax - l) + 1;
      lmax = l;
    } else {
      sum += Math.exp(l - lmax);
    }
  }
  return Math.exp(lmax + Math.log(sum));
}
