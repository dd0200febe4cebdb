/**
 * Lambda's CPU share, played by a cgroup-v1 CPU quota: a function gets CPU in proportion to its memory, one
 * vCPU at 1,769 MB (docs/sizing.md cites the Lambda guide).
 */
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the cgroup-v1 CPU controller is mounted. */
export const CGROUP_CPU_ROOT = '/sys/fs/cgroup/cpu';

/** Lambda's memory size that buys one vCPU. */
export const MB_PER_VCPU = 1769;

/** Lambda's share of a core at `memoryMb`, capped at what the machine has. */
export function cpuQuotaCores(memoryMb: number, machineCores: number): number {
  return Math.min(memoryMb / MB_PER_VCPU, machineCores);
}

/** A CPU group with `cores` of quota (period 100 ms), or why none could be made (not root, no cgroup v1). */
export function cpuGroup(name: string, cores: number): { path?: string; why?: string } {
  const path = join(CGROUP_CPU_ROOT, name);
  try {
    mkdirSync(path);
    writeFileSync(join(path, 'cpu.cfs_period_us'), '100000');
    writeFileSync(join(path, 'cpu.cfs_quota_us'), String(Math.round(cores * 100_000)));
    return { path };
  } catch (error) {
    try {
      rmdirSync(path);
    } catch {
      // never made
    }
    return { why: `cgroup ${path} not writable (${(error as Error).message})` };
  }
}

/** Removes a group once its processes are gone (the kernel may take a moment to account an exit). */
export function removeGroup(path: string | undefined): void {
  if (path === undefined) return;
  for (let tries = 0; tries < 20; tries += 1) {
    try {
      rmdirSync(path);
      return;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}
