/** A connector's source allow-list: single addresses and CIDR ranges, IPv4 and IPv6. */
import { BlockList, isIP } from 'node:net';

export interface SourceCheck {
  allows(address: string | undefined): boolean;
}

/** Throws on an entry that is neither an address nor a CIDR range (the catalog refuses it). */
export function sourceAllowList(entries: readonly string[]): SourceCheck {
  if (entries.length === 0) return { allows: () => true };
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else {
      const bits = Number(prefix);
      if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) throw new Error(`"${entry}" has an invalid prefix length`);
      list.addSubnet(address, bits, type);
    }
  }
  return {
    allows(address) {
      if (!address) return false;
      // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
      const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(plain);
      if (family === 0) return false;
      return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
