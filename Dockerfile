# cti in a container: the five tools on PATH, run as a non-root user on Debian 12 slim.
# Built elsewhere (Docker does not run on the development machines): docker build -t cti .
# The build stage runs the same scripts the tests run (scripts/install-deps, scripts/install),
# and the tests check what scripts/install produces: static Swift runtime, no toolchain needed.

ARG SWIFT_IMAGE=swift:6.1-bookworm

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
COPY . .
# The libcurl, OpenSSL and rabbitmq-c headers (apt), then one release build installed into /out.
RUN scripts/install-deps && scripts/install --prefix /out && rm -rf .build

FROM debian:bookworm-slim
# What the binaries load at run time: libcurl, OpenSSL and rabbitmq-c (libstdc++ and libc are
# in the base image).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcurl4 libssl3 librabbitmq4 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/
# State files, backups and diode folders go under /var/lib/cti (mount volumes there); the user
# owns it, so a fresh named volume is writable.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/cti --create-home --shell /usr/sbin/nologin cti
USER cti
WORKDIR /var/lib/cti
# Pipelines run under bash with pipefail, so a failing producer fails the container:
#   command: ["bash", "-o", "pipefail", "-c", "cti-stream | cti-backup"]
CMD ["cti-push", "--help"]
