# syntax=docker/dockerfile:1
# devlic's container image: the static release binary (musl, no shared libraries) on
# distroless/static, which adds only CA certificates, /etc/passwd with the `nonroot` user and
# tzdata. No shell, no package manager. Runs as 65532:65532 and writes nothing to its own
# filesystem, so it runs with `readOnlyRootFilesystem: true` (examples/ci/kubernetes).
#
# The binary is copied, not compiled here, so the image holds the very bytes of the release
# archives (built, checksummed and attested by .github/workflows/release.yml):
#   dist/linux-amd64/devlic and dist/linux-arm64/devlic
# To build locally: scripts/build-static.sh dist/linux-amd64/devlic
#   docker build --platform linux/amd64 -t devlic:dev .
# Pin the base by digest in your own builds (docker buildx imagetools inspect <image>).
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETARCH
COPY --chmod=0555 dist/linux-${TARGETARCH}/devlic /usr/local/bin/devlic
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/devlic"]
CMD ["--help"]
