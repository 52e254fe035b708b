// Whether the process that left something behind (a job row, a temporary file) is still running.

/** True for a live process other than this one (EPERM: alive, but another user's). */
export function processAlive(pid: unknown): boolean {
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return pid !== process.pid
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
