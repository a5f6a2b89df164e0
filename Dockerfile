# The Vigia service. docker-compose.yml builds it; `docker build -t vigia .` works alone.
# Build stage: npm ci compiles better-sqlite3 when no prebuilt binary fits, and `prepare`
# compiles the TypeScript; the dev dependencies are pruned before the copy.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# onnxruntime-node's install script would download CUDA libraries; Vigia runs on CPU. The
# image's npm 10 ignores package.json's allowScripts, so the script is told to skip itself.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    VIGIA_DB=/data/vigia.db
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY models ./models
# The runbooks alerts link to: the service serves docs/ at /docs/<name>.
COPY docs ./docs
RUN mkdir /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/vigia.js", "serve"]
