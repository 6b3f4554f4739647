// Every published driver exports a `cmDriver` the `cm` command line can use
// (docs/writing-a-driver.md): a name, a create() that makes a manager of that name, and an
// options schema that knows at least one option.
import { expect, it } from 'vitest';

const DRIVERS = ['@cm/slurm', '@cm/sge', '@cm/pbs', '@cm/lsf', '@cm/htcondor', '@cm/scyld', '@cm/affinity', '@cm/elastic'];
/** Settings a driver needs to be created without asking its scheduler (PBS detects its dialect with qstat otherwise). */
const NEEDS: Record<string, Record<string, unknown>> = { '@cm/pbs': { dialect: 'pro' } };

interface Descriptor {
  name: string;
  description?: string;
  optionsSchema?: { shape: Record<string, unknown> };
  create(np: number | undefined, options: Record<string, unknown>): { name: string; shutdown?(reason: string): Promise<void> };
}

it.each(DRIVERS)('%s exports a cmDriver', async (packageName) => {
  const { cmDriver } = (await import(packageName)) as { cmDriver: Descriptor };
  expect(cmDriver.name).toMatch(/^[a-z]+$/);
  expect(cmDriver.description).toBeTruthy();
  expect(Object.keys(cmDriver.optionsSchema?.shape ?? {}).length).toBeGreaterThan(0);
  if (cmDriver.name === 'elastic' || cmDriver.name === 'affinity') return; // they start listening or check taskset on creation
  const manager = cmDriver.create(2, { progress: 'none', logDir: '/tmp', ...NEEDS[packageName] });
  expect(manager.name).toBe(cmDriver.name);
});
