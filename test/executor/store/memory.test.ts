import { createMemoryStore } from '../../../executor/store/memory.ts';
import { storeSuite } from './suite.ts';

storeSuite('memory', async (clock) => createMemoryStore({ clock }));
