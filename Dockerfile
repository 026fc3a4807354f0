# syntax=docker/dockerfile:1
# nightshift container image. Two stages: `build` compiles the TypeScript with every dependency; `runtime` holds only
# the production dependencies, the compiled dist/, bin/ and the sample knowledge base, and runs as the `node` user.
#   docker build -t nightshift:0.1.0 .
#   docker run --rm -e NIGHTSHIFT_KAFKA_BROKERS=kafka:9092 -p 9464:9464 nightshift:0.1.0 run
# test/deploy-install.test.ts repeats the runtime stage's steps outside Docker (npm ci --omit=dev, copy dist/ and
# bin/, start, GET /healthz and /metrics), since CI has no Docker engine.

# A minor-pinned tag (not a digest) so rebuilds pick up Node and Debian security patches.
ARG NODE_IMAGE=node:20.18-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so the layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# The CLI binds 127.0.0.1 unless told otherwise; inside a container published ports reach only the container's own
# address, so the image listens on every interface. Without bearer tokens (NIGHTSHIFT_TOKENS_FILE) nightshift logs a
# warning at start: anyone who reaches the ports can write.
ENV NODE_ENV=production \
    NIGHTSHIFT_OPS_PORT=9464 \
    NIGHTSHIFT_OPS_HOST=0.0.0.0 \
    NIGHTSHIFT_GATEWAY_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# node-llama-cpp (the local GGUF model) is opt-in and not in package.json, so its CUDA and Vulkan builds stay out;
# an image that needs it adds `npm install --no-save node-llama-cpp@3.22.1` here (README, Dependencies).
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY knowledge ./knowledge
# The incident view's page, script and styles (`nightshift ui`): shipped, never fetched from a CDN.
COPY ui/assets ./ui/assets
# `nightshift` on the PATH, for `docker exec ... nightshift simulate`. Node resolves the symlink, so bin/ finds dist/.
RUN chmod 0755 bin/nightshift.js \
 && ln -s /app/bin/nightshift.js /usr/local/bin/nightshift \
 && mkdir -p /app/.nightshift \
 && chown node:node /app/.nightshift
# The official image's unprivileged user (uid 1000); the Helm chart's securityContext matches it.
USER node
# 9464: /healthz, /readyz, /metrics. 8080: the HTTP gateway (`nightshift gateway`).
EXPOSE 9464 8080
# The slim image has no curl: a one-line Node HTTP client, CommonJS because `node -e` is not an ES module.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=process.env.NIGHTSHIFT_OPS_PORT||9464;require('http').get({host:'127.0.0.1',port:p,path:'/healthz',timeout:3000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]
ENTRYPOINT ["nightshift"]
CMD ["run"]
