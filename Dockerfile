# The flag server. Built from the workspace so the migrations and the core come along.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN npm install --global --no-fund --no-audit pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm --filter "@switchyard/server..." run build \
 && pnpm install --frozen-lockfile --prod --offline --ignore-scripts

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4242
COPY --from=build --chown=node:node /app /app
USER node
EXPOSE 4242
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:4242/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["node", "packages/server/dist/main.js"]
