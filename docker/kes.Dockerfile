# syntax=docker/dockerfile:1
# kes: built from the repository root: docker build -f docker/kes.Dockerfile .
# Node 24.18.1 for the build: better-sqlite3 12 compiled against the headers of 24.19 or later aborts at
# exit (nodejs/node#65446); built against 24.18.1's it runs cleanly on every 24.x, including the newest below.
FROM node:24.18.1-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY packages/sse/package.json packages/sse/
COPY packages/kes-client/package.json packages/kes-client/
COPY packages/kes/package.json packages/kes/
COPY packages/gateway/package.json packages/gateway/
COPY packages/console/package.json packages/console/
# Development dependencies too: the build needs esbuild; they are pruned once the bundles are built.
RUN npm ci --no-audit --no-fund
COPY packages ./packages
COPY scripts/build.js ./scripts/
# The server as one bundled JavaScript file: no TypeScript loader at run time. (The operator console needs
# Vite, a development dependency: this image answers /console/ with how to build it.)
RUN node scripts/build.js --servers-only && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
# State and configuration (configs, certificates, the SQLite store) live in a volume.
WORKDIR /kesgate
EXPOSE 7373
ENTRYPOINT ["node", "/app/dist/kes.mjs"]
CMD ["server", "--config", "/kesgate/kes.yaml"]
