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
# The admin API writes zones back and keeps health votes, overrides, drills and the audit log in
# the state directory: both belong to the unprivileged user (mount volumes over them to keep them).
COPY --chown=node:node zones ./zones
RUN mkdir -p /app/state && chown node:node /app/state
# The "node" user exists in the official image. Binding port 53 needs no root when the runtime
# grants NET_BIND_SERVICE (docker run --cap-add NET_BIND_SERVICE) or maps the port instead.
USER node
EXPOSE 53/udp 53/tcp 8053/tcp
ENTRYPOINT ["node", "/app/dist/main.js"]
# The admin API refuses to listen beyond loopback without tokens. To reach it from outside the
# container, pass tokens and the address, e.g.
#   docker run -e MERIDIAN_TOKENS="ops:write:<secret>" meridian serve ... --admin 0.0.0.0:8053
# In a cluster, the zones live in etcd instead (docs/operations.md, "Running a cluster"):
#   docker run meridian serve --etcd https://etcd:2379 --etcd-ca ... --region eu-west --node-id ns1 ...
CMD ["serve", "--zones", "/app/zones", "--state", "/app/state", "--dns", "0.0.0.0:53", "--admin", "127.0.0.1:8053"]
