# Meridian: build with the full toolchain, run on a slim image as a non-root user.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY zones ./zones
# The "node" user exists in the official image. Binding port 53 needs no root when the runtime
# grants NET_BIND_SERVICE (docker run --cap-add NET_BIND_SERVICE) or maps the port instead.
USER node
EXPOSE 53/udp 53/tcp 8053/tcp
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["serve", "--zones", "/app/zones", "--dns", "0.0.0.0:53", "--admin", "0.0.0.0:8053"]
