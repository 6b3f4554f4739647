/**
 * The `cmDriver` descriptor of @cm/slurm, so the `cm` command line can make its managers
 * (`cm script slurm`, `cm doctor slurm`…; docs/writing-a-driver.md describes the convention).
 * @module
 */
import type { CmDriver } from '@cm/core/driver';
import { SlurmManager } from './slurm-manager.js';
import { slurmOptionsSchema } from './driver.js';

export const cmDriver: CmDriver = {
  name: 'slurm',
  description: 'workers as Slurm jobs (sbatch), or srun inside an allocation',
  optionsSchema: slurmOptionsSchema,
  create: (np, options) => new SlurmManager(np, options),
};
