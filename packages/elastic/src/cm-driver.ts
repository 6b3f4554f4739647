/**
 * The `cmDriver` descriptor of @cm/elastic, so the `cm` command line can make its managers
 * (`cm script elastic`, `cm doctor elastic`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { ElasticManager, elasticManagerOptionsSchema } from './elastic-manager.js';

export const cmDriver: CmDriver = {
  name: 'elastic',
  description: 'workers that dial in on their own (started by hand or by another system)',
  optionsSchema: elasticManagerOptionsSchema,
  create: (np, options) => new ElasticManager({ ...options, ...(np === undefined ? {} : { np }) }),
};
