#!/usr/bin/env -S node --disable-warning=DEP0111
// The `deputy` command. TypeScript sources run through tsx's loader, so a clone needs no build step.
// DEP0111 is restify's spdy dependency reading process.binding('http_parser'): known, harmless, switched off.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
