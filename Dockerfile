# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with the dev dependencies, then run the
# compiled JavaScript with production dependencies only, as a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The sources are not here yet, so npm ci's prepare leaves the explorer page to npm run build below.
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY db ./db
COPY scripts ./scripts
COPY web ./web
# dist/ holds the compiled service and the explorer page (dist/explorer), which the service serves at GET /.
RUN npm run build && npm prune --omit=dev

# Debian (glibc), not Alpine: the embedded PostgreSQL binaries need glibc.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
# Code and dependencies stay owned by root, read-only to the service; only the data directory is its own.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/data && chown node:node /app/data
# The `node` user of the official image: PostgreSQL (embedded) and the service run unprivileged.
USER node
VOLUME ["/app/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The key CLI in the container: docker exec <container> node dist/scripts/keys.js create acme
# Expired logs deleted now (the service also does it every PURGE_INTERVAL_MS): docker exec <container> node dist/scripts/purge.js
# Node itself is PID 1, with no shell or npm in between: docker stop's SIGTERM
# reaches it, and it writes what it holds and stops the embedded PostgreSQL (its
# own child, in a session of its own) before exiting, within docker stop's 10 s.
CMD ["node", "dist/src/server.js"]
