// SIGTERM and SIGINT for the long-running commands (serve, worker). Before the command has
// something to stop, a signal ends the process at once with exit 0; after, it calls the
// command's stop, and a second signal while that runs exits 1 at once.

export interface StopSignals {
  /** From now on a signal calls `stop`, once. */
  stopWith(stop: (signal: string) => void): void;
}

export function catchStopSignals(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): StopSignals {
  let stop: ((signal: string) => void) | null = null;
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stop === null) {
      console.log(`canal: ${signal} during start-up; exiting`);
      process.exit(0);
    }
    if (stopping) {
      console.error(`canal: ${signal} again; exiting now`);
      process.exit(1);
    }
    stopping = true;
    stop(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return {
    stopWith(fn) {
      stop = fn;
    },
  };
}
