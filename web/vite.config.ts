import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// `npm run dev` serves the pages on :5173 and sends GraphQL (HTTP and WebSocket) and the
// demo sign-in to the server, `tasklive serve` on :8000 (TASKLIVE_URL to point elsewhere).
const server = process.env.TASKLIVE_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: {
    // GraphiQL's editor is big; it loads only on the GraphiQL page.
    chunkSizeWarningLimit: 2500,
    rollupOptions: {
      // GraphiQL's React libraries mark modules "use client", which means nothing here.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
      input: {
        board: fileURLToPath(new URL("./index.html", import.meta.url)),
        graphiql: fileURLToPath(new URL("./graphiql.html", import.meta.url)),
      },
    },
  },
  server: {
    proxy: {
      "/graphql": { target: server, ws: true },
      "/dev": { target: server },
    },
  },
});
