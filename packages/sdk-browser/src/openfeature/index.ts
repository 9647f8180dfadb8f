export { InvalidContextError, toSwitchyardContext } from '@switchyard/core';
export { SwitchyardWebProvider } from './provider.js';
