/** A correctly rounded integer power, the same on every engine (double-double exponentiation by squaring). */
import { fail } from "../errors.js";
import { show } from "../validate.js";

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp split)
let ddHi = 0;
let ddLo = 0;

/** (ah + al) · (bh + bl) in double-double, result in ddHi/ddLo. */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  const p = ah * bh;
  let t = SPLITTER * ah;
  const ahh = t - (t - ah);
  const ahl = ah - ahh;
  t = SPLITTER * bh;
  const bhh = t - (t - bh);
  const bhl = bh - bhh;
  let e = ahh * bhh - p + ahh * bhl + ahl * bhh + ahl * bhl; // exact error of ah·bh
  e += ah * bl + al * bh;
  const s = p + e;
  ddHi = s;
  ddLo = e - (s - p);
}

/**
 * x^n for an integer n using only + − × ÷ in double-double arithmetic, so the result is
 * bit-identical on every engine: correctly rounded for n > 0 (barring astronomically rare
 * near-halfway cases), faithful (< 1 ulp) for n < 0. Falls back to `Math.pow` for non-finite or
 * zero x and when an intermediate would overflow the double-double splitting (|x^k| beyond
 * ~2^995). Throws RecurError "E_VALUE" if n is not an integer.
 */
export function powInt(x: number, n: number): number {
  if (typeof n !== "number" || !Number.isInteger(n)) fail("E_VALUE", `powInt: n must be an integer, got ${show(n)}`);
  if (n === 0) return 1;
  if (!Number.isFinite(x) || x === 0) return Math.pow(x, n);
  let m = Math.abs(n);
  let rh = 1;
  let rl = 0;
  let bh = x;
  let bl = 0;
  for (;;) {
    if (m % 2 === 1) {
      ddMul(rh, rl, bh, bl);
      rh = ddHi;
      rl = ddLo;
    }
    m = Math.floor(m / 2);
    if (m === 0) break;
    ddMul(bh, bl, bh, bl);
    bh = ddHi;
    bl = ddLo;
  }
  if (!Number.isFinite(rh) || !Number.isFinite(rl)) return Math.pow(x, n);
  if (n > 0) return rh + rl;
  // 1 / (rh + rl): one Newton correction of q = 1/rh using the exact residual.
  const q = 1 / rh;
  ddMul(q, 0, rh, rl);
  const res = 1 - ddHi - ddLo;
  return q + q * res;
}
