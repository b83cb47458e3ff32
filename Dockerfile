# tern-service in a container: built on debian:bookworm with meson, run on
# debian:bookworm-slim with only the runtime libraries, as a non-root user.
# Configure it entirely with TERN_* environment variables (config/example.env).
#   docker build -t tern .
#   docker run --rm -p 8080:8080 -e TERN_MYSQL_URL=mysql://u:p@db:3306/hello_world tern

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev meson ninja-build pkg-config \
      libh2o-dev libuv1-dev libssl-dev libjansson-dev libyaml-dev \
      libhiredis-dev libmariadb-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY meson.build meson_options.txt ./
COPY include include
COPY server server
COPY pool pool
COPY routes routes
# Only what the service needs: no tests, benchmarks or examples in the image.
RUN meson setup /build --buildtype=release --prefix=/usr/local -Dtests=false -Dbench=false \
 && ninja -C /build \
 && DESTDIR=/stage meson install -C /build --no-rebuild --quiet --strip \
 && rm -rf /stage/usr/local/include /stage/usr/local/lib/*/pkgconfig

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libh2o0.13 libuv1 libssl3 libjansson4 libyaml-0-2 libhiredis0.14 libmariadb3 libcurl4 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin tern
COPY --from=build /stage/usr/local /usr/local
RUN ldconfig
USER tern
ENV TERN_HOST=0.0.0.0 \
    TERN_PORT=8080 \
    TERN_ACCESS_LOG=plain
EXPOSE 8080
# Liveness only: /healthz answers even while Redis or MySQL are away (/readyz does not).
HEALTHCHECK --interval=10s --timeout=2s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# SIGTERM drains in-flight requests (drain_timeout_ms) before exiting.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/tern-service"]
