/**
 * A root hook: stops the private PostgreSQL cluster that test/helpers/postgres.ts starts on
 * first use, once every suite is done (and removes its folder).
 */
import { stopTestCluster } from '../helpers/postgres.ts';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopTestCluster();
  },
};
