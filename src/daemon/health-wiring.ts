// Ties the health monitor to container lifecycle events: probes start with
// every start of a container and stop at its exit or removal.
import type { EventBus } from '../events/index.js';
import type { Logger } from '../log/index.js';
import type { ContainerService } from './containers/index.js';
import type { ExecService } from './exec/index.js';
import { execProbeRunner, HealthMonitor } from './health/index.js';

export function startHealthMonitor(events: EventBus, containers: ContainerService, execs: ExecService, logger: Logger): HealthMonitor {
  const monitor = new HealthMonitor(
    execProbeRunner(execs, (id) => containers.getExecTarget(id)),
    logger,
  );
  events.subscribe((e) => {
    if (e.Type !== 'container') return;
    if (e.Action === 'start') {
      try {
        monitor.start(containers.healthTarget(e.Actor.ID));
      } catch (err) {
        logger.debug({ err, container: e.Actor.ID }, 'no health monitor for a container that is gone');
      }
    } else if (e.Action === 'die' || e.Action === 'destroy') {
      monitor.stop(e.Actor.ID);
    }
  });
  return monitor;
}
