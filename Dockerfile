# One image per app (api, gateway, web), all from this file. The binary is
# compiled on the host first (make binaries, or the Tiltfile's compile
# resources): no Go toolchain image to pull, and the same binary that the
# tests ran is the one that ships.
#
#   CGO_ENABLED=0 GOOS=linux go build -o bin/linux/api ./apps/api
#   docker build --build-arg APP=api -t pixel-api .
#
# BASE: distroless static (CA certificates, tzdata, /etc/passwd with the
# nonroot user, nothing else) in production; scratch in CI, which cannot
# pull; distroless' :debug-nonroot variant under Tilt, whose Live Update
# needs a shell and tar in the container.
ARG BASE=gcr.io/distroless/static-debian12:nonroot
FROM ${BASE}
ARG APP
COPY bin/linux/${APP} /app
# Numeric, so runAsNonRoot can verify it and scratch (no /etc/passwd) works.
USER 65532:65532
ENTRYPOINT ["/app"]
