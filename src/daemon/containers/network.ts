// The container service's side of networking: the facts the network module
// needs about a container, and the small interface it calls (set up at
// start, tear down at exit, forget at removal). Plugins, namespaces and
// ports are the network module's business.
import type { ContainerFacts, ContainerRef, EndpointConfigBody, SandboxSetup } from '../../network/index.js';
import type { Container } from './container.js';
import { etcPaths } from './etc-files.js';
import type { ContainerConfig, HostConfig } from './types.js';

export interface NetworkBackend {
  /** checks the network options of a new container (4xx) and records its networks */
  prepare(facts: ContainerFacts, endpoints: Record<string, EndpointConfigBody> | undefined, host: HostConfig): Promise<void>;
  /** the sandbox a start runs the task in */
  setUp(facts: ContainerFacts): Promise<SandboxSetup>;
  /** undoes the sandbox (idempotent) */
  tearDown(id: string): Promise<void>;
  /** the container is removed */
  forget(id: string): Promise<void>;
  /** the address --add-host NAME:host-gateway names */
  hostGateway(): string;
  settingsView(facts: ContainerFacts, running: boolean): Record<string, unknown>;
  listView(facts: ContainerFacts, running: boolean): { Ports: unknown[]; Networks: Record<string, unknown> };
}

export function networkFacts(id: string, name: string, config: ContainerConfig, host: HostConfig): ContainerFacts {
  const facts: ContainerFacts = {
    id,
    name,
    hostname: config.Hostname,
    domainname: config.Domainname,
    mode: host.NetworkMode,
    publishAll: host.PublishAllPorts === true,
    extraHosts: host.ExtraHosts ?? [],
    dns: host.Dns,
  };
  if (config.ExposedPorts !== undefined) facts.exposedPorts = config.ExposedPorts;
  if (host.PortBindings !== undefined && host.PortBindings !== null) facts.portBindings = host.PortBindings as Record<string, unknown>;
  return facts;
}

export function containerFacts(c: Container): ContainerFacts {
  return networkFacts(c.id, c.state.Name, c.state.Config, c.state.HostConfig);
}

/** What the network routes need to know of a container. */
export function containerRef(c: Container, dataDir: string): ContainerRef {
  return { id: c.id, name: c.state.Name, running: c.isRunning(), facts: containerFacts(c), etc: etcPaths(dataDir) };
}

/** --add-host NAME:host-gateway becomes the default bridge's gateway, as dockerd does. */
export function resolveHostGateway(extraHosts: readonly string[], gateway: string): string[] {
  return extraHosts.map((e) => (e.endsWith(':host-gateway') && gateway !== '' ? `${e.slice(0, -'host-gateway'.length)}${gateway}` : e));
}
