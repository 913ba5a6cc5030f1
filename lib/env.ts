import { z } from 'zod';

/** An on/off setting from the environment or a config file: `1/0`, `true/false`, `yes/no`, `on/off`. */
export const envFlag = z
  .union([z.boolean(), z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])])
  .transform((value) => value === true || ['1', 'true', 'yes', 'on'].includes(String(value)));
