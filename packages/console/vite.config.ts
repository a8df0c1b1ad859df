// Builds the console into dist/, served by the gateway at /console/. Every script and style is its own file
// (no inline code: the gateway's CSP allows only 'self'), and nothing is fetched from elsewhere at run time.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
  },
});
