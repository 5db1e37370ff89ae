// Security settings of containers: the default seccomp profile, capability
// sets, --security-opt, devices, ulimits, sysctls and --init. The OCI spec
// builder calls secureSpec; create calls checkSecurity.
export { checkSecurity, secureSpec, type SecurityDefaults, type SecurityFacts, type SecurityHostConfig } from './apply.js';
export { containerCapabilities, kernelCapabilities, type CapabilityLimits } from './capabilities.js';
export { hostDevices, mappedDevices, parseDeviceCgroupRule, type DeviceMapping } from './devices.js';
export { findInitBinary, initVersion, INIT_BINARY_NAME, INIT_DESTINATION } from './init.js';
export { checkSysctls, checkUlimits, clampOomScoreAdj, rlimits, type Ulimit } from './limits.js';
export { parseSecurityOpts, type SecurityOpts } from './options.js';
export { defaultSeccomp, resolveProfile, type OciSeccomp } from './seccomp.js';
export { daemonSeccompProfile, hostLsms, hostSecurityFacts, capabilityLimits, kernelRelease, oomScoreAdjFloor, securityDefaults, securityInfo } from './host.js';
