export { InvalidContextError, toSwitchyardContext } from '@switchyard/core';
export { type ProviderSettings, SwitchyardProvider } from './provider.js';
