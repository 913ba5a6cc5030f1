/** A mail connector's sender allow-list: whole addresses or `@domain`, compared case-insensitively. */

export interface SenderCheck {
  allows(address: string | undefined): boolean;
}

export function senderAllowList(patterns: readonly string[]): SenderCheck {
  const addresses = new Set<string>();
  const domains = new Set<string>();
  for (const pattern of patterns) {
    const lower = pattern.trim().toLowerCase();
    if (lower.startsWith('@')) domains.add(lower.slice(1));
    else addresses.add(lower);
  }
  return {
    allows(address) {
      const lower = normalizeAddress(address);
      if (!lower) return false;
      const domain = lower.slice(lower.lastIndexOf('@') + 1);
      return addresses.has(lower) || domains.has(domain);
    },
  };
}

/** Lower-cased `local@domain`, or undefined when it is not a plain address. */
export function normalizeAddress(address: string | undefined): string | undefined {
  const lower = address?.trim().toLowerCase();
  if (!lower || !/^[^\s@<>]+@[^\s@<>]+$/.test(lower)) return undefined;
  return lower;
}
