// berth's forwarding rules (pure): which traffic may enter and leave its
// bridges. Rules name bridges, never containers, so starting or removing a
// container changes no rule; only creating or removing a network does.
//
// Two chains per daemon, so that several berthd (or a dockerd) on one host
// compose: the isolation chain, jumped to from the top of FORWARD, only
// drops or returns; the forward chain, jumped to from its end (before the
// policy, DROP where dockerd runs), only accepts. Every daemon's drops are
// thus seen before anyone's accepts.

export interface FilteredBridge {
  dev: string;
  /** --internal: nothing leaves the bridge and nothing but replies enters */
  internal: boolean;
  /** containers of the bridge may reach each other */
  icc: boolean;
}

export interface FilterChains {
  isolation: string;
  forward: string;
}

export interface FilterPlan {
  isolation: string[][];
  forward: string[][];
}

const REPLIES = ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'];
// A connection to a published port: portmap's DNAT made it.
const PUBLISHED = ['-m', 'conntrack', '--ctstate', 'DNAT'];

/**
 * The rules of both chains. A bridge takes in its own containers' traffic
 * (unless icc is off), replies, and connections to its published ports;
 * anything else from another interface, another bridge's containers among
 * them, is dropped (the isolation between networks). A bridge that is not
 * internal lets its containers out.
 */
export function filterPlan(bridges: readonly FilteredBridge[]): FilterPlan {
  const isolation: string[][] = [];
  const forward: string[][] = [];
  for (const b of bridges) {
    const into = ['-o', b.dev];
    const within = ['-i', b.dev, '-o', b.dev];
    isolation.push([...within, '-j', b.icc ? 'RETURN' : 'DROP']);
    isolation.push([...into, ...REPLIES, '-j', 'RETURN']);
    if (!b.internal) isolation.push([...into, ...PUBLISHED, '-j', 'RETURN']);
    isolation.push([...into, '-j', 'DROP']);
    if (b.internal) isolation.push(['-i', b.dev, '-j', 'DROP']);
    forward.push([...into, ...REPLIES, '-j', 'ACCEPT']);
    if (b.icc) forward.push([...within, '-j', 'ACCEPT']);
    if (!b.internal) {
      forward.push([...into, ...PUBLISHED, '-j', 'ACCEPT']);
      forward.push(['-i', b.dev, '-j', 'ACCEPT']);
    }
  }
  return { isolation, forward };
}

const quoted = (arg: string): string => (/^[A-Za-z0-9_.,:/!-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\])/g, '\\$1')}"`);

/**
 * iptables-restore input (for --noflush) that empties both chains, making
 * them when missing, and fills them with the plan, in one transaction:
 * traffic never meets a half-written chain.
 */
export function restoreInput(chains: FilterChains, plan: FilterPlan): string {
  const lines = ['*filter', `:${chains.isolation} - [0:0]`, `:${chains.forward} - [0:0]`];
  for (const r of plan.isolation) lines.push(`-A ${chains.isolation} ${r.map(quoted).join(' ')}`);
  for (const r of plan.forward) lines.push(`-A ${chains.forward} ${r.map(quoted).join(' ')}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/**
 * What to change in FORWARD (its `-A` lines, in order): the isolation jump
 * must be among the isolation jumps FORWARD starts with (any daemon's, they
 * only drop), the forward jump anywhere below it. Returns the jumps to
 * delete (copies, or one in the wrong place), then whether to insert the
 * isolation jump on top and to append the forward jump.
 */
export function jumpFixes(forwardRules: readonly string[], chains: FilterChains): { remove: string[][]; insertIsolation: boolean; appendForward: boolean } {
  const toIsolation = `-A FORWARD -j ${chains.isolation}`;
  const toForward = `-A FORWARD -j ${chains.forward}`;
  let lead = 0;
  while (lead < forwardRules.length && /^-A FORWARD -j BERTH-ISOLATION-\S+$/.test(forwardRules[lead]!)) lead++;
  const keptIsolation = forwardRules.slice(0, lead).indexOf(toIsolation);
  // Once the isolation jump is on top, a forward jump anywhere is after it.
  const keptForward = forwardRules.indexOf(toForward);
  const remove: string[][] = [];
  forwardRules.forEach((r, i) => {
    if (r === toIsolation && i !== keptIsolation) remove.push(['-j', chains.isolation]);
    if (r === toForward && i !== keptForward) remove.push(['-j', chains.forward]);
  });
  return { remove, insertIsolation: keptIsolation < 0, appendForward: keptForward < 0 };
}
