import { defineConfig } from 'vite';

// Preact's automatic JSX runtime through Vite's own transform: no framework plugin (and its
// Babel) is needed for a small app without hot reloading of components.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    // Nothing inlined into the JavaScript: the size budget counts JavaScript alone.
    assetsInlineLimit: 0,
  },
});
