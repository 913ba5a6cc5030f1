import { silentLogger } from '../../../lib/logger.ts';
import { InProcessRunQueue } from '../../../executor/queue/in-process.ts';
import { queueSuite } from './suite.ts';

queueSuite('in-process', async (options) => new InProcessRunQueue(options, silentLogger()));
