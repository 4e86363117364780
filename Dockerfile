# Switchboard: multi-stage build. The runtime image holds production dependencies, the compiled src/,
# channels/ and examples/ (the sandbox's demo bank) and config/; no test or bench code (tsconfig.runtime.json).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.runtime.json ./
COPY src ./src
COPY channels ./channels
COPY examples ./examples
RUN npm run build:runtime

FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
USER node
EXPOSE 3000
# `serve` and `start`: /readyz (Redis answers, workers run). A worker has no port: compose and the chart
# start it with --health-file and probe with `health --file` instead.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "dist/src/main/cli.js", "health"]
ENTRYPOINT ["node", "dist/src/main/cli.js"]
CMD ["start"]
