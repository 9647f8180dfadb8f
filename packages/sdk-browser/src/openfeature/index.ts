export { toSwitchyardContext } from './context.js';
export { SwitchyardWebProvider } from './provider.js';
