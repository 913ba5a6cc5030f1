export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export const median = (values: number[]) => percentile(values, 50);

export const ms = (value: number) => `${value.toFixed(1)} ms`;

export const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** The usual latency line: `median …, p99 …`. */
export const medianAndP99 = (values: number[]) => `median ${ms(median(values))}, p99 ${ms(percentile(values, 99))}`;
