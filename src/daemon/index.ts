// Public face of src/daemon: the composition of berthd's services.
export { startDaemon, reloadView, type Daemon, type DaemonOptions } from './daemon.js';
