/**
 * Runs `tick` every `intervalMs`, never two at once. Polling rather than fs.watch: a mounted Kubernetes Secret
 * changes by swapping a symlink, which fs.watch on the old inode does not see, and polling also works on every
 * filesystem. The timer is unref'd so it never holds a process open.
 */
export class Poller {
  private readonly timer: NodeJS.Timeout;
  private inflight: Promise<void> | null = null;
  private stopped = false;

  constructor(intervalMs: number, private readonly tick: () => Promise<void>) {
    this.timer = setInterval(() => this.run(), intervalMs);
    this.timer.unref();
  }

  private run(): void {
    if (this.inflight || this.stopped) return;
    // tick handles its own errors; the catch only keeps a bug in it from becoming an unhandled rejection.
    this.inflight = this.tick()
      .catch(() => undefined)
      .finally(() => (this.inflight = null));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.inflight;
  }
}
