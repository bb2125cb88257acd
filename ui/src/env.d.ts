// Types for what Vite resolves at build time: CSS imported for its side effect.
declare module '*.css';
