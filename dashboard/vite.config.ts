// Builds the dashboard into dist/dashboard, which every node serves at / (src/dashboard).
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Relative asset URLs: the app works wherever a node serves it.
  base: "./",
  plugins: [react()],
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../dist/dashboard", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // One small app: a larger bundle means something was pulled in by mistake.
    chunkSizeWarningLimit: 400,
  },
});
