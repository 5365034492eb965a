import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'

// The client is built once into dist/client and served by the express server.
export default defineConfig({
  root: 'client',
  plugins: [svelte()],
  build: { outDir: '../dist/client', emptyOutDir: true },
  server: { proxy: { '/api': 'http://127.0.0.1:4178', '/runs': 'http://127.0.0.1:4178', '/ws': { target: 'ws://127.0.0.1:4178', ws: true } } },
})
