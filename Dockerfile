# syntax=docker/dockerfile:1
# Multi-stage build: compile TypeScript with the dev dependencies, then run the
# compiled JavaScript with production dependencies only, as a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The sources are not here yet, so npm ci's prepare leaves the explorer page to npm run build below.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY db ./db
COPY scripts ./scripts
COPY web ./web
# dist/ holds the compiled service and the explorer page (dist/explorer), which the service serves at GET /.
RUN npm run build

# Debian (glibc), not Alpine: the embedded PostgreSQL binaries need glibc.
FROM node:24-bookworm-slim
# C.UTF-8 is built into Debian's glibc (no locales package): the service's
# own output, and an embedded PostgreSQL's messages, are UTF-8 whatever the host sets.
# A 1 GB heap limit: V8 then collects its old generation when it has grown
# to under twice what is live, rather than four times (its choice for a limit
# of 2 GB or more, which it takes on any host with 8 GB), so the service's
# memory under load stays near 200 MB rather than 300 (README, "Memory").
# Set NODE_OPTIONS to change it.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=1024 \
    LANG=C.UTF-8 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
# Code and dependencies stay owned by root, read-only to the service; only the data directory is its own.
# The production dependencies installed from the lock file afresh, not pruned from the build's:
# nothing of the dev tree (and no package that only a dev dependency pulled in) can remain.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data
# The `node` user of the official image: PostgreSQL (embedded) and the service run unprivileged.
USER node
VOLUME ["/app/data"]
EXPOSE 3000
# /health, not /ready: Docker (and swarm, which replaces an unhealthy
# container) would restart every instance while the database is unreachable
# or the instance is saturated, which a restart cures in neither case (the
# service recovers on its own, measured) and which would drop the requests in
# flight everywhere at once. /ready is for the load balancer, which moves
# traffic away instead (deploy/haproxy.cfg).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The key CLI in the container: docker exec <container> node dist/scripts/keys.js create acme
# Expired logs deleted now (the service also does it every PURGE_INTERVAL_MS): docker exec <container> node dist/scripts/purge.js
# Node itself is PID 1, with no shell or npm in between: docker stop's SIGTERM
# reaches it, and it drains its requests (5 s at most), writes what it holds and
# stops the embedded PostgreSQL (its own child, in a session of its own) before
# exiting, within docker stop's 10 s; a stop that hangs ends itself after 30 s.
CMD ["node", "dist/src/server.js"]
