# The agdr image: one binary for operator, shard and coordinator (the first argument picks the
# role). Runs as the numeric non-root user 1000 with a read-only root filesystem: it writes only
# to the volumes its pod mounts (the data volume, /tmp). The cluster tier's pod runner reads the
# final stage's ENTRYPOINT, CMD and USER from this file (test/cluster/harness/pod-runner/image.ts),
# so the runner starts exactly what the image would.

# Compile TypeScript with every dependency.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && chmod 0555 dist/cli/agdr.js

# Production dependencies only, from the lockfile (lmdb and msgpackr-extract use their
# prebuilt native modules).
FROM node:24-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
    && npm rebuild lmdb msgpackr-extract \
    && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist ./dist
COPY --chown=0:0 package.json ./
COPY --chown=0:0 crds ./crds
# `agdr` on PATH, for `kubectl exec ... -- agdr verify ...` and pods that set command: [agdr].
RUN ln -s /app/dist/cli/agdr.js /usr/local/bin/agdr
# Numeric, so kubelet can check runAsNonRoot without reading /etc/passwd (the image's `node`).
USER 1000:1000
ENTRYPOINT ["node", "/app/dist/cli/agdr.js"]
CMD ["--help"]
