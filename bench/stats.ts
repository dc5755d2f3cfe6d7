/** Medians and ratios of the benchmark's figures. */

export function median(values: number[]): number {
    if (values.length === 0) return NaN;
    const s = [...values].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** a ÷ b, rounded to 3 decimals; NaN when b is not positive. */
export function ratio(a: number, b: number): number {
    return b > 0 ? round(a / b, 3) : NaN;
}

export function round(x: number, digits: number): number {
    const f = 10 ** digits;
    return Math.round(x * f) / f;
}

/** The raw runs and their median. */
export interface Series {
    runs: number[];
    median: number;
}

export function series(runs: number[], digits = 3): Series {
    const r = runs.map((x) => round(x, digits));
    return { runs: r, median: round(median(runs), digits) };
}
