# Tollgate in a container: a build stage, then a small runtime image that runs as a non-root user
# with its data directory (SQLite database, master key, uploaded files) on a volume.
#
#   docker build -t tollgate .
#   docker run -p 8080:8080 -v tollgate-data:/var/lib/tollgate tollgate
#
# Keep the master key out of the volume's backups, or set TOLLGATE_MASTER_KEY_FILE to a secret.
#
# The loader template (`tollgate-loader`) sits beside the server binary, where the builder
# (`/v1/builder/*`) finds it as this platform's template (docs/builder.md).

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin tollgate --bin tollgate-loader

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 tollgate \
 && useradd --system --uid 10001 --gid tollgate --home-dir /var/lib/tollgate --shell /usr/sbin/nologin tollgate \
 && mkdir -p /var/lib/tollgate \
 && chown tollgate:tollgate /var/lib/tollgate \
 && chmod 0700 /var/lib/tollgate
COPY --from=build /src/target/release/tollgate /usr/local/bin/tollgate
COPY --from=build /src/target/release/tollgate-loader /usr/local/bin/tollgate-loader
USER 10001:10001
ENV TOLLGATE_DATA_DIR=/var/lib/tollgate \
    TOLLGATE_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/tollgate"]
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["tollgate"]
CMD ["serve"]
