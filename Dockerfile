# Meridian: build with the full toolchain, run on a slim image as a non-root user.
#   docker build -t meridian:0.1.0 .
#   docker run -p 53:53/udp -p 53:53/tcp meridian:0.1.0
FROM node:24-slim AS build
# A C compiler for the native part of the batched UDP path (native/udp-batch.c, built by
# `npm run build`); the runtime image needs none. Without it Meridian answers UDP through node:dgram.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY native ./native
COPY scripts/build-native.mjs ./scripts/
RUN npm run build && mkdir -p build && npm prune --omit=dev

FROM node:24-slim
# OCI image annotations (github.com/opencontainers/image-spec, annotations.md); a test checks
# them against package.json and the base image.
LABEL org.opencontainers.image.title="meridian" \
      org.opencontainers.image.description="A global DNS load balancer: an authoritative DNS server whose answers follow routing policies and cross-region health checks." \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/node:24-slim"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build ./build
COPY package.json ./
# The admin API writes zones back and keeps health votes, overrides, drills and the audit log in
# the state directory: both belong to the unprivileged user (mount volumes over them to keep them).
COPY --chown=node:node zones ./zones
RUN mkdir -p /app/state && chown node:node /app/state
# The "node" user (uid 1000) exists in the official image.
#
# Port 53 as that user: a process needs CAP_NET_BIND_SERVICE to bind a port below
# net.ipv4.ip_unprivileged_port_start (1024 by default), and runtimes give capabilities to root
# only (no ambient set for other users), so `--cap-add NET_BIND_SERVICE` does not help "node".
# What does: Docker 20.10 and later set net.ipv4.ip_unprivileged_port_start=0 in a container's
# own network namespace, so `docker run -p 53:53/udp -p 53:53/tcp` works as it is. Elsewhere pass
# `--sysctl net.ipv4.ip_unprivileged_port_start=53` (Podman, nerdctl; in Kubernetes the pod's
# securityContext.sysctls, see deploy/kubernetes). With --network host the host's own value
# applies and cannot be changed per container: serve a high port (--dns 0.0.0.0:5353) instead.
USER node
EXPOSE 53/udp 53/tcp 8053/tcp
# Ready (200) once the zones are loaded and the first health checks are done; "degraded" (still
# 200) while etcd is unreachable, because the node keeps answering. It asks the --admin address
# of CMD below: change both together.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8053/readyz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/main.js"]
# With no token configured the node keeps its own write token in /app/state/admin-token, which
# `docker exec <container> node /app/dist/main.js ctl ...` finds by itself. The admin API refuses to
# listen beyond loopback without tokens, and without TLS (docs/operations.md, "TLS for the admin
# API"). To reach it from outside the container, pass tokens, a certificate and the address, e.g.
#   docker run -e MERIDIAN_TOKENS="ops:write:<secret>" -v /etc/meridian/tls:/tls:ro meridian serve ... \
#     --admin 0.0.0.0:8053 --admin-tls-cert /tls/admin.crt --admin-tls-key /tls/admin.key
# In a cluster, the zones live in etcd instead (docs/operations.md, "Running a cluster"):
#   docker run meridian serve --etcd https://etcd:2379 --etcd-ca ... --region eu-west --node-id ns1 ...
CMD ["serve", "--zones", "/app/zones", "--state", "/app/state", "--dns", "0.0.0.0:53", "--admin", "127.0.0.1:8053"]
