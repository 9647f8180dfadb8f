export { toSwitchyardContext } from './context.js';
export { type ProviderSettings, SwitchyardProvider } from './provider.js';
